// Processes the benchmark starts: usersvc itself (`node src/cli.ts serve`, as npm start runs it),
// the bare Fastify reference, and the load and hash-rate children.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { stopChild, waitForOutput } from '../scripts/child.ts'
import { ROOT } from './config.ts'
import type { LoadResult, LoadSpec } from './load.ts'

export interface Running {
  pid: number
  /** https://127.0.0.1:PORT */
  url: string
  stop(): Promise<void>
}

/** Spawns `args` and waits for `pattern`, whose first group is the port it listens on. */
async function start(
  args: string[],
  env: NodeJS.ProcessEnv,
  pattern: RegExp,
  stdout: 'pipe' | 'ignore' = 'pipe',
): Promise<Running> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', stdout, 'pipe'] })
  const match = await waitForOutput(child, pattern, args.join(' '))
  return {
    pid: child.pid as number,
    url: `https://127.0.0.1:${match[1]}`,
    stop: () => stopChild(child),
  }
}

/**
 * usersvc as `npm start` runs it, with `env` (DATABASE_URL, TLS_DIR, throttling …). Its JSON
 * log (one line per request on stdout) goes to /dev/null: written, not read by this machine's
 * cores. `nodeFlags`: e.g. --cpu-prof.
 */
export function startService(env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Promise<Running> {
  return start(
    [...nodeFlags, 'src/cli.ts', 'serve'],
    env,
    /usersvc is listening on https:\/\/[^\s:]+:(\d+)/,
    'ignore',
  )
}

export function startBare(certFile: string, keyFile: string): Promise<Running> {
  return start(['bench/bare.ts', certFile, keyFile], process.env, /listening (\d+)/)
}

/** Runs a child to completion and parses the JSON line it prints. */
export function runJson<T>(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const line = stdout.trim().split('\n').at(-1) ?? ''
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as T)
      else reject(new Error(`${args.join(' ')} exited with ${code}\n${stderr}`))
    })
  })
}

let specs = 0
/** One load process (bench/load.ts) for one scenario run. */
export async function load(tmp: string, spec: LoadSpec): Promise<LoadResult> {
  const file = join(tmp, `load-${process.pid}-${specs++}.json`)
  await writeFile(file, JSON.stringify(spec))
  return runJson<LoadResult>(['bench/load.ts', file])
}

/** Resident memory of a process in MiB, sampled (with epoch ms) every `everyMs` until stopped. */
export function sampleRss(pid: number, everyMs = 100) {
  const samples: { at: number; mib: number }[] = []
  const read = (field: string) => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
    return kib / 1024
  }
  const timer = setInterval(() => {
    try {
      samples.push({ at: Date.now(), mib: read('VmRSS') })
    } catch {
      // the process is gone
    }
  }, everyMs)
  return {
    samples,
    now: () => read('VmRSS'),
    /** VmHWM: the peak resident size over the process's whole life. */
    highWater: () => read('VmHWM'),
    stop: () => clearInterval(timer),
  }
}

const TICKS_PER_SECOND = 100 // USER_HZ on Linux

/**
 * CPU seconds (user + system) of a process, all threads, and of its main thread alone; and the
 * seconds the main thread spent runnable but waiting for a core (schedstat: run-queue delay).
 */
export function cpuSeconds(pid: number): { total: number; main: number; waiting: number } {
  const read = (path: string) => {
    const stat = readFileSync(path, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  }
  const schedstat = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')
  return {
    total: read(`/proc/${pid}/stat`),
    main: read(`/proc/${pid}/task/${pid}/stat`),
    waiting: Number(schedstat[1]) / 1e9,
  }
}

/** Samples cpuSeconds(pid) every `everyMs`; `usage(from, to)`: % of one core between two epoch ms. */
export function sampleCpu(pid: number, everyMs = 200) {
  const samples: ({ at: number } & ReturnType<typeof cpuSeconds>)[] = []
  const take = () => {
    try {
      samples.push({ at: Date.now(), ...cpuSeconds(pid) })
    } catch {
      // the process is gone
    }
  }
  take()
  const timer = setInterval(take, everyMs)
  return {
    stop: () => clearInterval(timer),
    usage(from: number, to: number) {
      const inside = samples.filter((s) => s.at >= from && s.at <= to)
      const first = inside[0]
      const last = inside.at(-1)
      if (!first || !last || last.at === first.at) return undefined
      const seconds = (last.at - first.at) / 1000
      const percent = (a: number, b: number) => Math.round((1000 * (b - a)) / seconds) / 10
      return {
        total: percent(first.total, last.total),
        main: percent(first.main, last.main),
        mainWaiting: percent(first.waiting, last.waiting),
      }
    },
  }
}

/** A port nothing listens on right now (for the service's metrics listener). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Chosen gauges of the service's Prometheus endpoint (unlabelled series only). */
export async function scrape(port: number, names: string[]): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const values: Record<string, number> = {}
  for (const name of names) {
    const match = new RegExp(`^${name} ([^\\s]+)`, 'm').exec(text)
    if (match) values[name] = Number(match[1])
  }
  return values
}
