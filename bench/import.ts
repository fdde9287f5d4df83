// The import benchmark: `usersvc import FILE` as a real process on a fresh store (its rate, and
// its resident memory over time), and first logins of imported users against a running service
// (a foreign verify plus an argon2id hash, compared with both measured alone in the same run).
//
// Part of `npm run bench`; alone: `node bench/import.ts [--quick] [--keep]` (or `npm run bench --
// --only import [--quick]`), which writes bench/results/import.{json,md} and leaves latest.* be.
// DATABASE_URL=postgres://… imports on PostgreSQL too (a fresh schema, dropped afterwards).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Algorithm, hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2'
import { Agent, request } from 'undici'
import { loadConfig } from '../src/config/index.ts'
import { openStore } from '../src/db/store.ts'
import { schemeOf } from '../src/passwords/foreign/index.ts'
import { lowerThreadPoolPriority } from '../src/passwords/priority.ts'
import { loadTlsCredentials } from '../src/tls/credentials.ts'
import { transferRepository } from '../src/transfer/repository.ts'
import {
  FULL,
  IMPORT_GOAL,
  type Mode,
  PASSWORD,
  QUICK,
  RESULTS,
  ROOT,
  THROTTLE_ENV,
} from './config.ts'
import { FIRST_LOGIN_SCHEMES, type ForeignScheme } from './foreign.ts'
import { writeImportFile } from './import-file.ts'
import { importMarkdown } from './import-report.ts'
import { describeMachine } from './report.ts'
import { type BenchStore, freshStore } from './seed.ts'
import { cpuSeconds, startService } from './server.ts'
import { round } from './stats.ts'
import type { FirstLoginScheme, FirstLogins, ImportResults, ImportRun, Timing } from './types.ts'

export interface ImportContext {
  mode: Mode
  /** The run's scratch folder (fresh stores, the import file). */
  tmp: string
  /** The service's environment, without DATABASE_URL (TLS_DIR, throttling …). */
  env: NodeJS.ProcessEnv
  postgresUrl?: string | undefined
  /** Trusts the run's local CA. */
  agent: Agent
  log(message: string): void
}

const SAMPLE_MS = 250
const load = () => describeMachine().loadAverage

/** VmRSS and VmHWM of a live process, in MiB. */
function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 }
}

/**
 * `node src/cli.ts import FILE` on `url`, from spawn to exit, its memory and CPU sampled every
 * SAMPLE_MS. Fails unless every record was imported.
 */
async function importProcess(
  ctx: ImportContext,
  file: string,
  url: string,
  records: number,
  nodeFlags: string[] = [],
): Promise<Omit<ImportRun, 'kind' | 'label' | 'fileMiB' | 'schemes'>> {
  const loadStart = load()
  const started = performance.now()
  const child = spawn(process.execPath, [...nodeFlags, 'src/cli.ts', 'import', file], {
    cwd: ROOT,
    env: { ...ctx.env, DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const pid = child.pid as number
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const samples: { t: number; mib: number }[] = []
  let peak = 0
  let cpu = 0
  const take = () => {
    try {
      const m = memory(pid)
      cpu = cpuSeconds(pid).total
      peak = Math.max(peak, m.hwm)
      samples.push({ t: round((performance.now() - started) / 1000, 2), mib: round(m.rss) })
    } catch {
      // gone
    }
  }
  const timer = setInterval(take, SAMPLE_MS)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const seconds = (performance.now() - started) / 1000
  clearInterval(timer)
  const summary = stdout.trim().split('\n').at(-1) ?? ''
  if (code !== 0 || !summary.includes(`imported ${records},`)) {
    throw new Error(`import of ${records} records exited with ${code}: ${summary}\n${stderr}`)
  }
  const near = (fraction: number) =>
    samples.reduce((best, s) =>
      Math.abs(s.t - fraction * seconds) < Math.abs(best.t - fraction * seconds) ? s : best,
    )?.mib ?? 0
  const half = seconds / 2
  const max = (list: { mib: number }[]) => Math.max(0, ...list.map((s) => s.mib))
  return {
    records,
    seconds: round(seconds, 2),
    recordsPerSecond: Math.round(records / seconds),
    summary,
    cpuSeconds: round(cpu, 2),
    loadAverage: { start: loadStart, end: load() },
    rss: {
      sampleMs: SAMPLE_MS,
      peakMiB: round(peak),
      at10MiB: samples.length ? near(0.1) : 0,
      at50MiB: samples.length ? near(0.5) : 0,
      at100MiB: samples.at(-1)?.mib ?? 0,
      firstHalfMaxMiB: max(samples.filter((s) => s.t <= half)),
      secondHalfMaxMiB: max(samples.filter((s) => s.t > half)),
      samples,
    },
  }
}

async function sqliteStore(ctx: ImportContext, name: string): Promise<BenchStore> {
  const store = await freshStore('sqlite', name, ctx.tmp)
  const path = store.url.slice('sqlite:'.length)
  return {
    ...store,
    drop: async () => {
      for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true })
    },
  }
}

/** The import rate and memory on each store: SQLite, and PostgreSQL when given. */
async function importRuns(ctx: ImportContext, nodeFlags: string[] = []): Promise<ImportRun[]> {
  const records = ctx.mode.importRecords
  const file = join(ctx.tmp, `import-${records}.jsonl`)
  ctx.log(`import: writing ${records} pre-hashed records`)
  const schemes = await writeImportFile(file, records)
  const fileMiB = round((await stat(file)).size / 2 ** 20)
  const runs: ImportRun[] = []
  try {
    for (const kind of ctx.postgresUrl
      ? (['sqlite', 'postgres'] as const)
      : (['sqlite'] as const)) {
      const store =
        kind === 'sqlite'
          ? await sqliteStore(ctx, `import${records}`)
          : await freshStore(kind, `import${records}`, ctx.tmp, ctx.postgresUrl)
      try {
        ctx.log(`import: ${records} records into ${store.label}, load ${load().join(' ')}`)
        const run = await importProcess(ctx, file, store.url, records, nodeFlags)
        runs.push({ kind, label: store.label, fileMiB, schemes, ...run })
        ctx.log(
          `  ${run.seconds} s, ${run.recordsPerSecond} records/s, RSS ${run.rss.at10MiB} / ${run.rss.at50MiB} / ${run.rss.at100MiB} MiB at 10/50/100%, peak ${run.rss.peakMiB} MiB; load ${run.loadAverage.end.join(' ')}`,
        )
      } finally {
        await store.drop()
      }
    }
  } finally {
    await rm(file, { force: true })
  }
  return runs
}

const ARGON2ID = 2 as Algorithm
const ms = (since: number) => performance.now() - since
const timing = (values: number[]): Timing => {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    p50: round(sorted[Math.ceil(sorted.length / 2) - 1] ?? 0, 2),
    max: round(sorted.at(-1) ?? 0, 2),
  }
}

/**
 * Users imported with each scheme's hash log in twice, one request at a time, on an established
 * connection; between them the same work runs alone here: the scheme's verify, one argon2id hash
 * and one verify at the service's parameters. Interleaved, so a change in the machine's load
 * weighs on both sides alike.
 */
async function firstLogins(ctx: ImportContext): Promise<FirstLogins> {
  const users = ctx.mode.firstLoginUsers
  const loadStart = load()
  const store = await sqliteStore(ctx, 'first-logins')
  const file = join(ctx.tmp, 'first-logins.jsonl')
  // One hash per scheme, shared by its users: the cost of a verify does not depend on the salt.
  const stored = new Map<ForeignScheme, string>()
  for (const scheme of FIRST_LOGIN_SCHEMES) stored.set(scheme, await scheme.make(PASSWORD))
  const lines = FIRST_LOGIN_SCHEMES.flatMap((scheme) =>
    Array.from({ length: users }, (_, i) =>
      JSON.stringify({ login: `${scheme.name}.${i}`, password_hash: stored.get(scheme) }),
    ),
  )
  await writeFile(file, `${lines.join('\n')}\n`)
  await importProcess(ctx, file, store.url, lines.length)

  const { argon2: params, threadNice } = loadConfig(ctx.env).passwords
  const argon = { ...params, algorithm: ARGON2ID, outputLen: 32 }
  const argonStored = await argon2Hash(PASSWORD, argon)
  // The references run on this process's pool threads (started by now) at the priority the
  // service gives its own: the comparison is of the work a first login does, not of the
  // scheduler's favour, which other work on the machine would otherwise decide.
  const reniced = lowerThreadPoolPriority(threadNice)
  const argonHash: number[] = []
  const argonVerify: number[] = []
  const results: FirstLoginScheme[] = []
  const service = await startService({ ...ctx.env, DATABASE_URL: store.url })
  try {
    const login = async (name: string) => {
      const started = performance.now()
      const response = await request(`${service.url}/session/`, {
        method: 'POST',
        dispatcher: ctx.agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: name, password: PASSWORD }),
      })
      await response.body.dump()
      if (response.statusCode !== 200) throw new Error(`login ${name}: ${response.statusCode}`)
      return ms(started)
    }
    // The connection and its TLS handshake first, and the service's first hashes (warm-up).
    await (await request(`${service.url}/health/live`, { dispatcher: ctx.agent })).body.dump()
    await argon2Verify(argonStored, PASSWORD)
    for (const scheme of FIRST_LOGIN_SCHEMES) {
      const hash = stored.get(scheme) as string
      const first: number[] = []
      const second: number[] = []
      const raw: number[] = []
      for (let i = 0; i < users; i++) {
        let started = performance.now()
        if (!(await scheme.verify(hash, PASSWORD))) throw new Error(`${scheme.name}: no match`)
        raw.push(ms(started))
        first.push(await login(`${scheme.name}.${i}`))
        started = performance.now()
        await argon2Hash(PASSWORD, argon)
        argonHash.push(ms(started))
        second.push(await login(`${scheme.name}.${i}`))
        started = performance.now()
        await argon2Verify(argonStored, PASSWORD)
        argonVerify.push(ms(started))
      }
      results.push({
        scheme: scheme.name,
        origin: scheme.origin,
        stored: schemeOf(hash),
        users,
        first: timing(first),
        second: timing(second),
        rawVerify: timing(raw),
      })
      ctx.log(
        `  ${scheme.name}: first login p50 ${timing(first).p50} ms, second ${timing(second).p50} ms, raw verify ${timing(raw).p50} ms`,
      )
    }
  } finally {
    await service.stop()
  }
  // Every first login replaced its foreign hash.
  const check = openStore(store.url, { poolSize: 1 })
  try {
    const left = await transferRepository(check.db).foreignCounts()
    if (left.size > 0) throw new Error(`foreign hashes left after first logins: ${[...left]}`)
  } finally {
    await check.destroy()
    await store.drop()
  }
  const rawArgon2 = { hash: timing(argonHash), verify: timing(argonVerify) }
  const secondP50 = timing(results.map((r) => r.second.p50)).p50
  return {
    store: 'sqlite (first-logins.db)',
    usersPerScheme: users,
    threadNice,
    referencesNiced: reniced > 0,
    rawArgon2,
    overheadMs: round(Math.max(0, secondP50 - rawArgon2.verify.p50), 2),
    schemes: results,
    loadAverage: { start: loadStart, end: load() },
  }
}

/** Both parts, as `npm run bench` and the standalone run measure them. */
export async function importBench(ctx: ImportContext): Promise<ImportResults> {
  const began = performance.now()
  // First logins first: after a million-row import the store's own work goes on for a while
  // (PostgreSQL's checkpoint and autovacuum, the kernel writing back SQLite's pages), and the
  // logins would measure that.
  ctx.log(`first logins: ${ctx.mode.firstLoginUsers} users per scheme, one login at a time`)
  const logins = await firstLogins(ctx)
  const runs = await importRuns(ctx)
  return {
    mode: ctx.mode.name,
    goalSeconds: IMPORT_GOAL.seconds,
    runs,
    firstLogins: logins,
    seconds: round((performance.now() - began) / 1000),
  }
}

/**
 * The import benchmark alone: its own scratch folder, certificate and CA; writes
 * bench/results/import.{json,md}. `--cpu-prof` profiles the import process instead (the
 * profile lands in the scratch folder, kept).
 */
export async function standalone(argv: string[]): Promise<void> {
  const args = new Set(argv)
  const mode = args.has('--quick') ? QUICK : FULL
  const began = performance.now()
  const log = (message: string) =>
    process.stderr.write(`[${Math.round((performance.now() - began) / 1000)}s] ${message}\n`)
  const tmp = join(RESULTS, 'tmp', `import-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  await mkdir(tmp, { recursive: true })
  const tlsDir = join(tmp, 'tls')
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TLS: 'on',
    TLS_DIR: tlsDir,
    HOST: '127.0.0.1',
    PORT: '0',
    METRICS_PORT: '0',
    ...THROTTLE_ENV,
  }
  delete env.DATABASE_URL
  await loadTlsCredentials(loadConfig(env).tls)
  const agent = new Agent({ connect: { ca: await readFile(join(tlsDir, 'ca.crt'), 'utf8') } })
  const postgresUrl = /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '')
    ? process.env.DATABASE_URL
    : undefined
  const ctx: ImportContext = { mode, tmp, env, postgresUrl, agent, log }
  const machine = describeMachine()
  log(
    `${mode.name} import run: ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAverage.join(' ')}`,
  )
  try {
    if (args.has('--cpu-prof')) {
      const dir = join(tmp, 'cpu-prof')
      await importRuns(ctx, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
      log(`profile in ${dir}`)
      return
    }
    const results: ImportResults = { ...(await importBench(ctx)), machine }
    await writeFile(join(RESULTS, 'import.json'), `${JSON.stringify(results, null, 2)}\n`)
    const report = importMarkdown(results, { standalone: true })
    await writeFile(join(RESULTS, 'import.md'), report)
    process.stdout.write(`${report}\n`)
    log(`done in ${results.seconds} s: bench/results/import.{json,md}`)
  } finally {
    await agent.close()
    if (!args.has('--keep') && !args.has('--cpu-prof'))
      await rm(tmp, { recursive: true, force: true })
  }
}

if (import.meta.main) await standalone(process.argv.slice(2))
