// Logins at 4x capacity for a while, with /health/live and /user/me probed meanwhile by their
// own load processes at a modest rate; the service's RSS and event-loop delay sampled all along.
import type { Mode } from './config.ts'
import type { LoadResult, Run } from './load.ts'
import { describe } from './report.ts'
import { type Running, sampleRss, scrape } from './server.ts'
import { round } from './stats.ts'
import type { Overload } from './types.ts'

export interface OverloadContext {
  mode: Mode
  hashConcurrency: number
  queueLimit: number
  measure(target: Running, spec: Run): Promise<LoadResult>
  accessToken(url: string): Promise<string>
  log(message: string): void
}

const METRICS = [
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'usersvc_password_hash_queue_length',
]

/** `service` must serve Prometheus metrics on `metricsPort`. */
export async function overload(
  context: OverloadContext,
  service: Running,
  metricsPort: number,
  store: string,
  capacity: number,
): Promise<Overload> {
  const { mode, measure, log } = context
  const rss = sampleRss(service.pid)
  // Warm-up (JIT, first queries): a short login load the service can take.
  await measure(service, {
    scenario: 'login',
    connections: 2 * context.hashConcurrency,
    warmup: 0,
    duration: Math.max(1, mode.warmup),
    data: { users: mode.users, tag: 'warm' },
  })
  const rssBefore = rss.now()
  const data = {
    users: mode.users,
    tag: 'overload',
    accessToken: await context.accessToken(service.url),
  }
  // Each connection sends at most one login a second and none while its login waits in the
  // hash queue, so the queue's worth of connections comes on top of the target rate.
  const target = 4 * capacity
  const connections = Math.ceil(target) + context.queueLimit + context.hashConcurrency
  await scrape(metricsPort, METRICS) // resets the event-loop delay histogram
  const t0 = Date.now()
  const eventLoop: Overload['eventLoop'] = []
  const scraper = setInterval(() => {
    scrape(metricsPort, METRICS).then(
      (m) =>
        eventLoop.push({
          t: round((Date.now() - t0) / 1000, 1),
          maxMs: round((m.nodejs_eventloop_lag_max_seconds ?? 0) * 1000),
          p99Ms: round((m.nodejs_eventloop_lag_p99_seconds ?? 0) * 1000),
          queued: m.usersvc_password_hash_queue_length ?? 0,
        }),
      () => {},
    )
  }, 1000)
  rss.samples.length = 0
  const common = { warmup: 0, duration: mode.overloadSeconds, t0, paced: { instances: 10 }, data }
  const [login, health, me] = await Promise.all([
    // Admitted logins' latency counts from the first request on: most connections send only a
    // few in the run, and each waits seconds in the queue, next to which a handshake is small.
    measure(service, { ...common, scenario: 'login', connections, firstRequests: true }),
    measure(service, { ...common, scenario: 'health', connections: 20 }),
    measure(service, { ...common, scenario: 'me', connections: 20 }),
  ])
  clearInterval(scraper)
  rss.stop()
  const result: Overload = {
    store,
    capacity,
    target: round(target),
    connections,
    login,
    health,
    me,
    eventLoop,
    rss: {
      beforeMiB: round(rssBefore),
      peakMiB: round(Math.max(...rss.samples.map((s) => s.mib))),
      highWaterMiB: round(rss.highWater()),
      samples: rss.samples
        .filter((_, i) => i % 5 === 0)
        .map((s) => ({ t: round((s.at - t0) / 1000, 1), mib: round(s.mib) })),
    },
  }
  const loopMax = Math.max(0, ...eventLoop.map((e) => e.maxMs))
  log(`  logins: ${describe(login)}`)
  log(`  meanwhile /health/live: ${describe(health)}`)
  log(`  meanwhile /user/me: ${describe(me)}`)
  log(
    `  RSS ${result.rss.beforeMiB} → peak ${result.rss.peakMiB} MiB; event-loop delay max ${loopMax} ms`,
  )
  return result
}
