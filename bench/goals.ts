// The goals, each met or missed (benchmark figures, not tests).
import type { LoadResult } from './load.ts'
import type { Overload, Results } from './types.ts'

export interface Goal {
  goal: string
  measured: string
  /** undefined: reported, no threshold. */
  met: boolean | undefined
}

export const n = (value: number) => value.toLocaleString('en-US', { maximumFractionDigits: 1 })
export const ms = (value: number) =>
  value >= 100
    ? n(Math.round(value))
    : value >= 1
      ? n(Math.round(value * 10) / 10)
      : value.toFixed(2)
export const ratio = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '–')
/** The best throughput of a scenario over the connection counts. */
export const peak = (runs: LoadResult[], scenario: string) =>
  Math.max(0, ...runs.filter((run) => run.scenario === scenario).map((run) => run.rps))
export const at = (runs: LoadResult[], scenario: string, connections: number) =>
  runs.find((run) => run.scenario === scenario && run.connections === connections)

/** What a scenario is bounded by: registrations by the raw hash rate, logins by verify's. */
export function rawArgon(results: Results, scenario: string): { name: string; rate: number } {
  const { hash } = results.references
  return scenario === 'register'
    ? { name: 'hash', rate: hash.hashPerSecond }
    : { name: 'verify', rate: hash.verifyPerSecond }
}

export const commitRate = (commits: { oneAtATime: number; concurrent: number }) =>
  Math.max(commits.oneAtATime, commits.concurrent)

/** RSS is bounded when the second half of the overload sets no new high (5% + 4 MiB slack). */
export function rssHalves(o: Overload) {
  const mid = o.rss.samples.length / 2
  const max = (list: { mib: number }[]) => Math.max(0, ...list.map((s) => s.mib))
  const first = max(o.rss.samples.slice(0, mid))
  const second = max(o.rss.samples.slice(mid))
  return { first, second, bounded: second <= first * 1.05 + 4 && o.rss.peakMiB < 1024 }
}

function other5xx(run: LoadResult): number {
  const fives = Object.entries(run.statuses).filter(([status]) => Number(status) >= 500)
  return fives.reduce((sum, [, count]) => sum + count, 0) - run.overloaded
}

export function goals(results: Results): Goal[] {
  const list: Goal[] = []
  const bare = peak(results.references.bare, 'bare')
  for (const store of results.stores) {
    const where = results.stores.length > 1 ? ` (${store.kind})` : ''
    for (const scenario of ['login', 'register']) {
      const raw = rawArgon(results, scenario)
      const value = peak(store.runs, scenario) / raw.rate
      list.push({
        goal: `${scenario} ≥ 0.9 × raw argon2id ${raw.name} rate${where}`,
        measured: `${ratio(value)} (${n(peak(store.runs, scenario))}/s vs ${n(raw.rate)}/s)`,
        met: value >= 0.9,
      })
    }
    for (const scenario of ['me', 'jwks', 'health']) {
      const value = peak(store.runs, scenario) / bare
      list.push({
        goal: `${scenario} ≥ 0.5 × bare Fastify${where}`,
        measured: `${ratio(value)} (${n(peak(store.runs, scenario))}/s vs ${n(bare)}/s)`,
        met: value >= 0.5,
      })
    }
    const commits = commitRate(store.commits)
    list.push({
      goal: `refresh next to the store's durable commits/s${where}`,
      measured: `${ratio(peak(store.runs, 'refresh') / commits)} (${n(peak(store.runs, 'refresh'))}/s vs ${n(commits)} commits/s)`,
      met: undefined,
    })
    for (const run of store.scale.large) {
      const small = at(store.scale.small, run.scenario, store.scale.connections)
      const value = small ? run.rps / small.rps : Number.NaN
      list.push({
        goal: `${run.scenario} with ${n(store.scale.users)} users not 10% below ${n(store.users)} users${where}`,
        measured: `${ratio(value)} (${n(run.rps)}/s vs ${n(small?.rps ?? 0)}/s)`,
        met: value >= 0.9,
      })
    }
  }
  const o = results.overload
  if (!o) return list
  const probes = [o.login, o.health, o.me]
  const rss = rssHalves(o)
  list.push(
    {
      goal: '4x overload: /health/live p99 < 50 ms',
      measured: `${ms(o.health.latency.p99)} ms`,
      met: o.health.latency.p99 < 50 && o.health.completed > 0,
    },
    {
      goal: '4x overload: /user/me p99 < 50 ms',
      measured: `${ms(o.me.latency.p99)} ms`,
      met: o.me.latency.p99 < 50 && o.me.completed > 0,
    },
    {
      goal: '4x overload: admitted logins p99 < 1 s',
      measured: `${ms(o.login.latency.p99)} ms`,
      met: o.login.latency.p99 > 0 && o.login.latency.p99 < 1000,
    },
    {
      goal: '4x overload: no 5xx but 503 overloaded, no connection errors',
      measured: `${probes.reduce((sum, run) => sum + other5xx(run), 0)} other 5xx, ${probes.reduce((sum, run) => sum + run.errors, 0)} connection errors`,
      met: probes.every((run) => other5xx(run) === 0 && run.errors === 0),
    },
    {
      goal: '4x overload: RSS bounded (no new high in the second half, peak < 1 GiB)',
      measured: `${n(o.rss.beforeMiB)} → ${n(o.rss.peakMiB)} MiB (max ${n(rss.first)} MiB in the first half, ${n(rss.second)} MiB in the second)`,
      met: rss.bounded,
    },
  )
  return list
}
