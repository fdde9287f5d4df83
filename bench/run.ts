// npm run bench [-- --quick] [-- --cpu-prof] [-- --keep]
// Starts usersvc as a real process (HTTPS, default configuration, fresh temp data dir), drives
// it from separate autocannon processes, measures the references (raw argon2id, bare Fastify),
// the scale and overload cases, the import (bench/import.ts: `usersvc import` of 1,000,000
// pre-hashed records, and first logins with imported hashes), and writes
// bench/results/latest.{json,md,svg} and import.{json,md}. The import adds about 2½ minutes to a
// full run on 2 cores, and about 10 more on PostgreSQL (1,700-1,900 records/s there).
// npm run bench -- --only import [--quick] [--keep] [--cpu-prof] (the same as
// `node bench/import.ts …`): the import part alone; writes bench/results/import.{json,md} only,
// never latest.*; with --cpu-prof it profiles the import process instead of reporting.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { loadConfig } from '../src/config/index.ts'
import { createHasher } from '../src/passwords/hasher.ts'
import { normalisePassword } from '../src/passwords/policy.ts'
import { loadTlsCredentials } from '../src/tls/credentials.ts'
import { chart } from './chart.ts'
import {
  FULL,
  type Mode,
  PASSWORD,
  QUICK,
  RESULTS,
  SCENARIOS,
  type Scenario,
  THROTTLE_ENV,
} from './config.ts'
import { importBench, standalone } from './import.ts'
import { importMarkdown } from './import-report.ts'
import type { LoadResult, Run } from './load.ts'
import { overload } from './overload.ts'
import { summariseProfiles } from './profile.ts'
import { describe, describeMachine, markdown } from './report.ts'
import { type BenchStore, commitsPerSecond, freshStore, seed } from './seed.ts'
import {
  freePort,
  load,
  type Running,
  runJson,
  sampleCpu,
  startBare,
  startService,
} from './server.ts'
import { round } from './stats.ts'
import type { HashRate, Overload, Results, StoreResults } from './types.ts'

const argv = process.argv.slice(2)
const args = new Set(argv)
if (args.has('--only')) {
  const part = argv[argv.indexOf('--only') + 1]
  if (part !== 'import') {
    process.stderr.write(
      `npm run bench -- --only import: the one part that runs alone, not ${part}\n`,
    )
    process.exit(2)
  }
  await standalone(argv.filter((arg) => arg !== '--only' && arg !== part))
  process.exit(0)
}
const mode: Mode = args.has('--quick') ? QUICK : FULL
const began = performance.now()
const log = (message: string) =>
  process.stderr.write(`[${Math.round((performance.now() - began) / 1000)}s] ${message}\n`)

const tmp = join(RESULTS, 'tmp', new Date().toISOString().replace(/[:.]/g, '-'))
await mkdir(tmp, { recursive: true })
const tlsDir = join(tmp, 'tls')
const postgresUrl = /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '')
  ? process.env.DATABASE_URL
  : undefined

// The service's environment: the defaults, HTTPS on a free port, throttling out of the way.
// Anything else set in the caller's environment (ARGON2_*, HASH_CONCURRENCY …) passes through.
const baseEnv: NodeJS.ProcessEnv = {
  ...process.env,
  TLS: 'on',
  TLS_DIR: tlsDir,
  HOST: '127.0.0.1',
  PORT: '0',
  METRICS_PORT: '0',
  ...THROTTLE_ENV,
}
delete baseEnv.DATABASE_URL
const config = loadConfig(baseEnv)
// The local CA and server certificate the service will find in TLS_DIR; the bare reference
// serves the same certificate, and the load processes verify it against the CA.
await loadTlsCredentials(config.tls)
const caFile = join(tlsDir, 'ca.crt')
const agent = new Agent({ connect: { ca: await readFile(caFile, 'utf8') } })
const machine = describeMachine()
log(
  `${mode.name} run: ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAverage.join(' ')}`,
)

/** An access token of user0, fresh for each run that needs one (they live 15 minutes). */
async function accessToken(url: string): Promise<string> {
  const response = await request(`${url}/session/`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: 'user0', password: PASSWORD }),
  })
  const body = (await response.body.json()) as { access_token?: string }
  if (!body.access_token) throw new Error(`login for an access token: ${response.statusCode}`)
  return body.access_token
}

/** One load process against `target`, with the target's CPU use during the measured phase. */
async function measure(target: Running, spec: Run): Promise<LoadResult> {
  const cpu = sampleCpu(target.pid)
  try {
    const result = await load(tmp, {
      url: target.url,
      caFile,
      warmup: mode.warmup,
      duration: mode.duration,
      ...spec,
    })
    result.serverCpu = cpu.usage(result.startedAt, result.endedAt)
    return result
  } finally {
    cpu.stop()
  }
}

async function withService<T>(
  store: BenchStore,
  work: (service: Running) => Promise<T>,
  options: { flags?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<T> {
  const env = { ...baseEnv, ...options.env, DATABASE_URL: store.url }
  const service = await startService(env, options.flags)
  try {
    return await work(service)
  } finally {
    await service.stop()
  }
}

// --- References -----------------------------------------------------------------------------
log('reference (a): raw argon2id hash and verify rate')
const hash = await runJson<HashRate>(['bench/hashrate.ts', String(mode.loopSeconds)], baseEnv)
log(
  `  ${hash.hashPerSecond} hashes/s, ${hash.verifyPerSecond} verifies/s, ${hash.concurrency} at once`,
)

log('reference (b): bare Fastify, same certificate and TLS policy')
const bare = await startBare(join(tlsDir, 'server.crt'), join(tlsDir, 'server.key'))
const bareRuns: LoadResult[] = []
try {
  for (const connections of mode.connections) {
    const result = await measure(bare, {
      scenario: 'bare',
      connections,
      data: { users: 0, tag: 'bare' },
    })
    bareRuns.push(result)
    log(`  bare c=${connections}: ${describe(result)}`)
  }
} finally {
  await bare.stop()
}

// --- Per store: scenarios, overload, scale ---------------------------------------------------
const hasher = await createHasher({ params: config.passwords.argon2, concurrency: 1 })
const passwordHash = await hasher.hash(normalisePassword(PASSWORD))
const tokensPerRun = (connections: number) => 2 * connections + 16
const cpuProfDir = join(tmp, 'cpu-prof')

async function scenarios(store: BenchStore, tokens: string[]): Promise<LoadResult[]> {
  const runs: LoadResult[] = []
  const run = async (service: Running, scenario: Scenario) => {
    for (const connections of mode.connections) {
      const result = await measure(service, {
        scenario,
        connections,
        data: {
          users: mode.users,
          tag: `${store.kind}-${scenario}-c${connections}-`,
          accessToken: scenario === 'me' ? await accessToken(service.url) : undefined,
          refreshTokens:
            scenario === 'refresh' ? tokens.splice(0, tokensPerRun(connections)) : undefined,
        },
      })
      runs.push(result)
      log(`  ${store.kind} ${scenario} c=${connections}: ${describe(result)}`)
    }
  }
  if (!args.has('--cpu-prof')) {
    await withService(store, async (service) => {
      for (const scenario of SCENARIOS) await run(service, scenario)
    })
    return runs
  }
  // Profiling: one service process (and so one profile) per scenario.
  for (const [i, scenario] of SCENARIOS.entries()) {
    const dir = join(cpuProfDir, `${store.kind}-${i + 1}-${scenario}`)
    const flags = ['--cpu-prof', `--cpu-prof-dir=${dir}`]
    await withService(store, (service) => run(service, scenario), { flags })
  }
  return runs
}

/** The overload (bench/overload.ts) on its own service process, with metrics on. */
async function overloadRun(store: BenchStore, capacity: number): Promise<Overload> {
  const metricsPort = await freePort()
  const flags = args.has('--cpu-prof')
    ? ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfDir, `${store.kind}-8-overload`)}`]
    : []
  const context = {
    mode,
    hashConcurrency: hash.serviceConcurrency,
    queueLimit: config.passwords.queueLimit,
    measure,
    accessToken,
    log,
  }
  return withService(
    store,
    (service) => overload(context, service, metricsPort, store.label, capacity),
    { env: { METRICS_PORT: String(metricsPort) }, flags },
  )
}

/** register and login at one connection count on the small and the large store, back to back. */
async function scale(small: BenchStore, large: BenchStore) {
  const runs: Record<'small' | 'large', LoadResult[]> = { small: [], large: [] }
  for (const [size, store, users] of [
    ['small', small, mode.users],
    ['large', large, mode.largeUsers],
  ] as const) {
    await withService(store, async (service) => {
      for (const scenario of ['register', 'login'] as Scenario[]) {
        const result = await measure(service, {
          scenario,
          connections: mode.scaleConnections,
          data: { users, tag: `${store.kind}-scale-${size}-${scenario}-` },
        })
        runs[size].push(result)
        log(`  ${users} users ${scenario} c=${mode.scaleConnections}: ${describe(result)}`)
      }
    })
  }
  return runs
}

const storeResults: StoreResults[] = []
let overloaded: Overload | undefined
for (const kind of postgresUrl ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const)) {
  log(`${kind}: seeding ${mode.users} users`)
  const small = await freshStore(kind, `users${mode.users}`, tmp, postgresUrl)
  const large = await freshStore(kind, `users${mode.largeUsers}`, tmp, postgresUrl)
  try {
    const allTokens = mode.connections.reduce((sum, c) => sum + tokensPerRun(c), 0)
    const tokens = await seed(small.url, mode.users, passwordHash, allTokens)
    const commitsUrl = kind === 'sqlite' ? `sqlite:${join(tmp, 'commits.db')}` : small.url
    const atOnce = Math.min(config.databasePoolSize, Math.max(...mode.connections))
    const commits = {
      oneAtATime: round(await commitsPerSecond(commitsUrl, mode.loopSeconds, 1)),
      concurrent: round(await commitsPerSecond(commitsUrl, mode.loopSeconds, atOnce)),
      concurrency: atOnce,
    }
    log(
      `  durable commits/s: ${commits.oneAtATime} one at a time, ${commits.concurrent} ${atOnce} at once`,
    )
    const runs = await scenarios(small, tokens)

    if (kind === 'sqlite') {
      const capacity = Math.max(...runs.filter((r) => r.scenario === 'login').map((r) => r.rps))
      log(`${kind}: logins at 4x the measured login capacity (${capacity}/s)`)
      overloaded = await overloadRun(small, capacity)
    }

    log(`${kind}: seeding ${mode.largeUsers} users for the scale comparison`)
    const seedStarted = performance.now()
    await seed(large.url, mode.largeUsers, passwordHash, 0)
    const seedSeconds = round((performance.now() - seedStarted) / 1000)
    log(`  seeded in ${seedSeconds} s`)
    const scaleRuns = await scale(small, large)
    storeResults.push({
      kind,
      label: small.label,
      users: mode.users,
      commits,
      runs,
      scale: {
        users: mode.largeUsers,
        connections: mode.scaleConnections,
        seedSeconds,
        ...scaleRuns,
      },
    })
  } finally {
    await large.drop()
    await small.drop()
  }
}

// --- Import and first logins ----------------------------------------------------------------
const imported = await importBench({ mode, tmp, env: baseEnv, postgresUrl, agent, log })

// --- Results ----------------------------------------------------------------------------------
const results: Results = {
  mode,
  machine: { ...machine, loadAverageAtEnd: describeMachine().loadAverage },
  service: {
    argon2: config.passwords.argon2,
    hashConcurrency: hash.serviceConcurrency,
    threadPool: hash.threadPool,
    threadNice: config.passwords.threadNice,
    hashQueueLimit: config.passwords.queueLimit,
    throttle: THROTTLE_ENV,
    log: `LOG_LEVEL=${config.logLevel}, one JSON line per request to /dev/null`,
  },
  references: { hash, bare: bareRuns },
  stores: storeResults,
  overload: overloaded,
  import: imported,
  seconds: round((performance.now() - began) / 1000),
}
await mkdir(RESULTS, { recursive: true })
await writeFile(join(RESULTS, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
const report = markdown(results)
await writeFile(join(RESULTS, 'latest.md'), report)
await writeFile(join(RESULTS, 'latest.svg'), await chart(results))
// import.{json,md} as `--only import` writes them, from this run's figures.
const importResults = { ...imported, machine }
await writeFile(join(RESULTS, 'import.json'), `${JSON.stringify(importResults, null, 2)}\n`)
await writeFile(join(RESULTS, 'import.md'), importMarkdown(importResults, { standalone: true }))
process.stdout.write(`${report}\n`)
if (args.has('--cpu-prof')) process.stdout.write(`\n${await summariseProfiles(cpuProfDir)}\n`)
await agent.close()
if (!args.has('--keep')) await rm(tmp, { recursive: true, force: true })
log(`done in ${results.seconds} s: bench/results/latest.{json,md,svg}, import.{json,md}`)
