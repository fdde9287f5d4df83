// latest.md: the machine, the configuration, the goals (met/missed) and every figure.
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os'
import { HASHED } from './config.ts'
import { at, commitRate, goals, ms, n, ratio, rawArgon } from './goals.ts'
import { importGoals, importSection } from './import-report.ts'
import type { LoadResult } from './load.ts'
import { EXPECTED } from './scenarios.ts'
import type { Machine, Overload, Results, StoreResults } from './types.ts'

/** One line for the progress log. */
export function describe(result: LoadResult): string {
  const unexpected = Object.keys(result.statuses).length > 1 || result.errors > 0
  const cpu = result.serverCpu
    ? `, server CPU ${result.serverCpu.total}% (main ${result.serverCpu.main}%, main waiting ${result.serverCpu.mainWaiting}%)`
    : ''
  return `${result.rps}/s p50 ${ms(result.latency.p50)} ms p99 ${ms(result.latency.p99)} ms${cpu}, client CPU ${result.clientCpu}%${
    unexpected ? `; statuses ${JSON.stringify(result.statuses)}, ${result.errors} errors` : ''
  }`
}

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 27) / 8,
    node: process.version,
    os: `${process.platform} ${release()}`,
    date: new Date().toISOString(),
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
  }
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

/** Answers other than the expected one, and connection errors, briefly. */
function others(run: LoadResult): string {
  const expected = EXPECTED[run.scenario]
  const list = Object.entries(run.statuses)
    .filter(([status]) => Number(status) !== expected)
    .map(([status, count]) => `${count}× ${status}`)
  if (run.errors) list.push(`${run.errors} connection errors`)
  return list.join(', ') || '–'
}

const cpu = (run: LoadResult) => {
  const server = run.serverCpu
  return `${server ? `${server.total} (${server.main}, ${server.mainWaiting})` : '–'} / ${run.clientCpu}`
}
const CPU = 'CPU %: server (main thread, main waiting for a core) / client'

function versus(results: Results, store: StoreResults, run: LoadResult): string {
  if (HASHED.has(run.scenario)) {
    const raw = rawArgon(results, run.scenario)
    return `${ratio(run.rps / raw.rate)} × raw ${raw.name}`
  }
  if (run.scenario === 'refresh') return `${ratio(run.rps / commitRate(store.commits))} × commits/s`
  const bare = at(results.references.bare, 'bare', run.connections)
  return bare ? `${ratio(run.rps / bare.rps)} × bare` : '–'
}

function header(results: Results): string[] {
  const { machine, service, mode } = results
  const throttle = Object.entries(service.throttle).map(([key, value]) => `\`${key}=${value}\``)
  return [
    `# usersvc benchmark (${mode.name} run)`,
    '',
    `**Machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, Node.js ${machine.node}, ${machine.os}; ${machine.date}; load average ${machine.loadAverage.join(' ')} at the start, ${machine.loadAverageAtEnd.join(' ')} at the end (other work on the machine makes every figure noisy). The run took ${n(results.seconds)} s.`,
    '',
    `**Service:** \`node src/cli.ts serve\` with the default configuration: HTTPS (HTTP/2 and HTTP/1.1 offered) on a fresh data dir; argon2id m=${service.argon2.memoryCost} KiB, t=${service.argon2.timeCost}, p=${service.argon2.parallelism}; ${service.hashConcurrency} hashes at once on a thread pool of ${service.threadPool}${service.threadNice ? ` at nice ${service.threadNice}` : ''}, hash queue limit ${service.hashQueueLimit}; ${service.log}.`,
    '',
    `**Throttling raised** so that it does not distort the figures (all load comes from 127.0.0.1): ${throttle.join(', ')}. \`login-fail\` picks a random one of the ${n(mode.users)} seeded accounts per request, so per-account back-off never starts (a 429 would show under "other answers").`,
    '',
    `**Load:** autocannon 9 in separate processes over loopback: HTTP/1.1 keep-alive (autocannon speaks no HTTP/2) over TLS 1.3, each connection verifying the certificate against the run's local CA; ${mode.warmup} s warm-up excluded, ${mode.duration} s measured per row; connections ${mode.connections.join(', ')}. Latencies are those of requests on established connections (a connection's first request, which waits for the TCP and TLS handshakes, counts in the throughput only). ${CPU}: % of one core during the measured seconds, from /proc (stat, and schedstat for the time the event loop was ready to run but every core was taken). Goals compare the best figure over the connection counts.`,
    '',
  ]
}

function references(results: Results): string[] {
  const { hash, bare } = results.references
  const raw = (what: string, rate: number) => [
    `(a) raw argon2id ${what}, ${hash.concurrency} at once, no HTTP`,
    '–',
    `${n(rate)}/s`,
    '–',
    '–',
    '–',
  ]
  const rows = [raw('hash', hash.hashPerSecond), raw('verify', hash.verifyPerSecond)]
  for (const run of bare) {
    rows.push([
      '(b) bare Fastify, constant JSON, same certificate and TLS policy',
      String(run.connections),
      `${n(run.rps)}/s`,
      ms(run.latency.p50),
      ms(run.latency.p99),
      cpu(run),
    ])
  }
  const head = ['reference', 'connections', 'rate', 'p50 ms', 'p99 ms', CPU]
  return ['## References', '', table(head, rows), '']
}

function store(results: Results, s: StoreResults): string[] {
  const rows = s.runs.map((run) => [
    run.scenario,
    String(run.connections),
    n(run.rps),
    ms(run.latency.p50),
    ms(run.latency.p99),
    others(run),
    versus(results, s, run),
    cpu(run),
  ])
  const head = [
    'scenario',
    'connections',
    'req/s',
    'p50 ms',
    'p99 ms',
    'other answers',
    'vs reference',
    CPU,
  ]
  const scale = s.scale.large.map((run) => {
    const small = at(s.scale.small, run.scenario, s.scale.connections)
    return [
      run.scenario,
      String(run.connections),
      n(small?.rps ?? 0),
      n(run.rps),
      ratio(small ? run.rps / small.rps : Number.NaN),
      `${ms(small?.latency.p99 ?? 0)} → ${ms(run.latency.p99)}`,
    ]
  })
  const sizes = [`${n(s.users)} users req/s`, `${n(s.scale.users)} users req/s`]
  return [
    `## Scenarios: ${s.label}, ${n(s.users)} users seeded`,
    '',
    table(head, rows),
    '',
    `Durable commits/s of a one-insert transaction on this store: ${n(s.commits.oneAtATime)} one at a time, ${n(s.commits.concurrent)} with ${s.commits.concurrency} at once.`,
    '',
    `### Scale: ${n(s.users)} vs ${n(s.scale.users)} users (seeded in ${n(s.scale.seedSeconds)} s), measured back to back`,
    '',
    table(['scenario', 'connections', ...sizes, 'ratio', 'p99 ms (small → large)'], scale),
    '',
  ]
}

function overload(results: Results, o: Overload): string[] {
  const answered = o.login.completed / o.login.seconds
  const share = (status: number) =>
    `${((100 * (o.login.statuses[status] ?? 0)) / (o.login.completed || 1)).toFixed(1)}%`
  const worst = (pick: (e: Overload['eventLoop'][number]) => number) =>
    ms(Math.max(0, ...o.eventLoop.map(pick)))
  const three = (run: LoadResult) =>
    `${ms(run.latency.p50)} / ${ms(run.latency.p99)} / ${ms(run.latency.max)} ms`
  return [
    `## Overload: logins at 4x capacity for ${results.mode.overloadSeconds} s (${o.store})`,
    '',
    `Capacity ${n(o.capacity)} logins/s (the best login figure above): target ${n(o.target)}/s from ${o.connections} connections, each sending at most one login a second; ${n(answered)}/s answered (${ratio(answered / o.capacity)}x capacity). /health/live and /user/me are probed meanwhile by their own autocannon processes at 20 requests/s each. Admitted logins' latencies include each connection's first request.`,
    '',
    table(
      ['measure', 'value'],
      [
        ['logins answered', n(o.login.completed)],
        ['admitted (200)', `${n(o.login.statuses[200] ?? 0)} (${n(o.login.rps)}/s)`],
        ['503 overloaded / 429 rate limited', `${share(503)} / ${share(429)}`],
        ['admitted logins p50 / p99 / max', three(o.login)],
        ['/health/live p50 / p99 / max', three(o.health)],
        ['/user/me p50 / p99 / max', three(o.me)],
        ['other answers (login; health; me)', [o.login, o.health, o.me].map(others).join('; ')],
        [
          "service's event-loop delay, worst second: max / p99",
          `${worst((e) => e.maxMs)} / ${worst((e) => e.p99Ms)} ms`,
        ],
        ['hash queue length, most seen', worst((e) => e.queued)],
        [`${CPU} (logins)`, cpu(o.login)],
        [
          'service RSS before → peak (VmHWM)',
          `${n(o.rss.beforeMiB)} → ${n(o.rss.peakMiB)} MiB (${n(o.rss.highWaterMiB)} MiB)`,
        ],
      ],
    ),
    '',
  ]
}

export function markdown(results: Results): string {
  const all = [...goals(results), ...(results.import ? importGoals(results.import) : [])]
  const goalRows = all.map((goal) => [
    goal.goal,
    goal.measured,
    goal.met === undefined ? 'reported' : goal.met ? '**met**' : '**missed**',
  ])
  return [
    ...header(results),
    '## Goals',
    '',
    table(['goal', 'measured', 'result'], goalRows),
    '',
    ...references(results),
    ...results.stores.flatMap((s) => store(results, s)),
    ...(results.overload ? overload(results, results.overload) : []),
    ...(results.import ? importSection(results.import) : []),
    'Chart: [latest.svg](latest.svg). Every figure: [latest.json](latest.json).',
    '',
  ].join('\n')
}
