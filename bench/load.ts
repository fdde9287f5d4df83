// The load generator: one process per scenario run, apart from the service it measures.
// node bench/load.ts SPEC.json  →  one JSON line (LoadResult) on stdout.
import { readFileSync } from 'node:fs'
import tls from 'node:tls'
import autocannon from 'autocannon'
import type { Scenario } from './config.ts'
import { EXPECTED, requestsFor, type ScenarioData } from './scenarios.ts'
import { type Percentiles, percentiles, round } from './stats.ts'

export interface LoadSpec {
  scenario: Scenario
  /** https://127.0.0.1:PORT */
  url: string
  caFile: string
  connections: number
  warmup: number
  duration: number
  /**
   * Paced instead of as fast as possible: each connection sends at most one request per
   * second, and the connections are split over `instances` autocannon instances started
   * evenly over the first second, so arrivals are spread rather than one burst per second.
   */
  paced?: { instances: number }
  /** Epoch ms that second 0 of the time series counts from (to line up concurrent runs). */
  t0?: number
  /**
   * Count each connection's first request in the latencies too (it waits for the handshakes).
   * Left out by default: latencies are those of keep-alive requests.
   */
  firstRequests?: boolean
  data: ScenarioData
}

/** A run as the runner states it: url, CA and durations have defaults there. */
export type Run = Omit<LoadSpec, 'url' | 'caFile' | 'warmup' | 'duration'> & Partial<LoadSpec>

export interface SecondStats {
  t: number
  ok: number
  other: number
  p50: number
  p99: number
}

export interface LoadResult {
  scenario: Scenario
  connections: number
  seconds: number
  completed: number
  /** Answers with the expected status per second. */
  rps: number
  statuses: Record<string, number>
  /** 503 answers whose problem code is `overloaded` (the hash queue is full). */
  overloaded: number
  errors: number
  timeouts: number
  /**
   * Latency of the answers with the expected status, and of all answers, on established
   * connections (each connection's first request, which includes its handshakes, is left out).
   */
  latency: Percentiles
  latencyAll: Percentiles
  series: SecondStats[]
  /** Epoch ms of the measured phase (to match the service's CPU samples). */
  startedAt: number
  endedAt: number
  /** CPU of this load process during the measured phase, % of one core. */
  clientCpu: number
  /**
   * CPU of the process under load, % of one core: all threads, its main thread (the event loop),
   * and the time its main thread was ready to run but waited for a core.
   */
  serverCpu?: { total: number; main: number; mainWaiting: number }
}

const spec = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as LoadSpec
const ca = readFileSync(spec.caFile, 'utf8')

// autocannon 9 always passes rejectUnauthorized: false to tls.connect. Every connection here
// verifies the service's certificate against the run's local CA (and the address it names)
// instead: a wrong certificate is a connection error, never a silent success.
const connect = tls.connect
;(tls as { connect: unknown }).connect = (...args: unknown[]) => {
  const at = args.findIndex((arg) => typeof arg === 'object' && arg !== null)
  args[at] = { ...(args[at] as object), ca, rejectUnauthorized: true }
  return (connect as (...a: unknown[]) => tls.TLSSocket)(...args)
}

const expected = EXPECTED[spec.scenario]
const requests = requestsFor(spec.scenario, spec.data)

interface Recorder {
  connected: WeakSet<object>
  ok: number[]
  all: number[]
  statuses: Record<string, number>
  overloaded: number
  perSecond: Map<number, { count: number; ok: number[]; other: number }>
}

function recorder(): Recorder {
  return {
    connected: new WeakSet(),
    ok: [],
    all: [],
    statuses: {},
    overloaded: 0,
    perSecond: new Map(),
  }
}

async function phase(seconds: number, record?: Recorder) {
  const instances = spec.paced ? Math.min(spec.paced.instances, spec.connections) : 1
  const t0 = spec.t0 ?? Date.now()
  const runs = Array.from({ length: instances }, async (_, i) => {
    const connections =
      Math.floor(spec.connections / instances) + (i < spec.connections % instances ? 1 : 0)
    if (spec.paced) await new Promise((resolve) => setTimeout(resolve, (1000 * i) / instances))
    const instance = autocannon({
      url: spec.url,
      connections,
      duration: spec.paced ? seconds - i / instances : seconds,
      timeout: 60,
      sampleInt: 100,
      ...(spec.paced ? { connectionRate: 1, ignoreCoordinatedOmission: true } : {}),
      requests: requests.map((request) => ({
        ...request,
        onResponse(status, body, context) {
          request.onResponse?.(status, body, context)
          if (record && status === 503 && body.includes('"overloaded"')) record.overloaded++
        },
      })),
    })
    if (record) {
      instance.on('response', (client: object, status: number, _bytes: number, ms: number) => {
        record.statuses[status] = (record.statuses[status] ?? 0) + 1
        const second = Math.floor((Date.now() - t0) / 1000)
        const bucket = record.perSecond.get(second) ?? { count: 0, ok: [], other: 0 }
        record.perSecond.set(second, bucket)
        if (status === expected) bucket.count++
        else bucket.other++
        // A connection's first request waits for its TCP and TLS handshakes: counted in the
        // throughput, left out of the latencies, which are those of keep-alive requests.
        if (!spec.firstRequests && !record.connected.has(client)) {
          record.connected.add(client)
          return
        }
        record.all.push(ms)
        if (status === expected) {
          record.ok.push(ms)
          bucket.ok.push(ms)
        }
      })
    }
    return instance
  })
  const done = await Promise.all(runs)
  return {
    errors: done.reduce((sum, result) => sum + result.errors, 0),
    timeouts: done.reduce((sum, result) => sum + result.timeouts, 0),
  }
}

if (spec.warmup > 0) await phase(spec.warmup)
const record = recorder()
const startedAt = Date.now()
const started = performance.now()
const cpu = process.cpuUsage()
const { errors, timeouts } = await phase(spec.duration, record)
const seconds = (performance.now() - started) / 1000
const used = process.cpuUsage(cpu)
const series = [...record.perSecond]
  .sort(([a], [b]) => a - b)
  .map(([t, bucket]) => {
    const { p50, p99 } = percentiles(bucket.ok)
    return { t, ok: bucket.count, other: bucket.other, p50: round(p50, 2), p99: round(p99, 2) }
  })
const result: LoadResult = {
  scenario: spec.scenario,
  connections: spec.connections,
  seconds: round(seconds, 2),
  completed: Object.values(record.statuses).reduce((sum, count) => sum + count, 0),
  rps: round((record.statuses[expected] ?? 0) / seconds),
  statuses: record.statuses,
  overloaded: record.overloaded,
  errors,
  timeouts,
  latency: percentiles(record.ok),
  latencyAll: percentiles(record.all),
  series,
  startedAt,
  endedAt: Date.now(),
  clientCpu: round((used.user + used.system) / 1e4 / seconds),
}
process.stdout.write(`${JSON.stringify(result)}\n`)
