// --cpu-prof: where the service's main thread spent its time, one V8 profile per scenario.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
}

/** Where a function lives: a package, a file of src/, Node's internals, or V8 itself. */
function owner(url: string): string {
  if (!url) return '(native / V8)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1] as string
  const src = /\/((?:src|bench)\/.+)$/.exec(url)
  if (src) return src[1] as string
  return url.replace(/^file:\/\//, '')
}

async function summarise(files: string[], top: number): Promise<string[]> {
  const byFunction = new Map<string, number>()
  const byOwner = new Map<string, number>()
  let busy = 0
  let idle = 0
  for (const file of files) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as Profile
    const perSample =
      (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length)
    for (const node of profile.nodes) {
      const ms = (node.hitCount ?? 0) * perSample
      const { functionName, url, lineNumber } = node.callFrame
      if (!ms) continue
      if (functionName === '(idle)') {
        idle += ms
        continue
      }
      const where = owner(url)
      const name = `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`
      byFunction.set(name, (byFunction.get(name) ?? 0) + ms)
      byOwner.set(where, (byOwner.get(where) ?? 0) + ms)
      busy += ms
    }
  }
  const rows = (map: Map<string, number>) =>
    [...map]
      .sort(([, a], [, b]) => b - a)
      .slice(0, top)
      .map(([name, ms]) => `| ${name} | ${Math.round(ms)} | ${((100 * ms) / busy).toFixed(1)}% |`)
  const idleShare = ((100 * idle) / (idle + busy)).toFixed(0)
  return [
    `busy ${Math.round(busy)} ms, idle ${Math.round(idle)} ms (${idleShare}% idle); self time, share of busy:`,
    '',
    '| where | self ms | share |',
    '| --- | --- | --- |',
    ...rows(byOwner).slice(0, 8),
    '',
    '| function | self ms | share |',
    '| --- | --- | --- |',
    ...rows(byFunction),
  ]
}

/** `dir` holds one folder of .cpuprofile files per scenario. */
export async function summariseProfiles(dir: string): Promise<string> {
  const out = ["## CPU profiles of the service's main thread, per scenario", '']
  for (const scenario of (await readdir(dir)).sort()) {
    const files = (await readdir(join(dir, scenario))).map((file) => join(dir, scenario, file))
    out.push(`### ${scenario}`, '', ...(await summarise(files, 12)), '')
  }
  return out.join('\n')
}
