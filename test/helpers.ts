import { randomBytes, randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { TestContext } from 'node:test'
import type { Redis } from 'ioredis'
import pg from 'pg'
import { type App, buildApp } from '../src/app.ts'
import type { Clock } from '../src/clock.ts'
import { type Config, loadConfig } from '../src/config/index.ts'
import type { Store } from '../src/db/schema.ts'
import { createHasher, type Hasher } from '../src/passwords/hasher.ts'

/** Real argon2id, cheap parameters: most tests are not about hashing cost. */
export const FAST_ARGON2 = { ARGON2_MEMORY_KIB: '256', ARGON2_TIME_COST: '1' }
/**
 * The environment most tests run with: cheap hashing, and per-address rates high enough that a
 * suite sending everything from 127.0.0.1 does not trip them (test/throttle/ sets its own).
 */
export const TEST_ENV = {
  ...FAST_ARGON2,
  THROTTLE_LOGIN_PER_ADDRESS: '100000',
  THROTTLE_REGISTER_PER_ADDRESS: '100000',
  // Bursts in tests (races, many sessions) on a loaded machine must not meet the overload bound;
  // test/hardening/overload.test.ts sets its own.
  HASH_QUEUE_MAX_WAIT_MS: '60000',
}
export const PASSWORD = 'correct horse battery staple'

export type DialectName = 'sqlite' | 'postgres'

/** Dialects the suite runs on; CI runs both. TEST_DIALECTS=sqlite narrows it for a quick loop. */
export function dialects(): DialectName[] {
  return (process.env.TEST_DIALECTS ?? 'sqlite,postgres').split(',') as DialectName[]
}

export const POSTGRES_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'usersvc-test-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** One statement on the test PostgreSQL server (POSTGRES_URL), on a connection of its own. */
export async function adminQuery<R extends pg.QueryResultRow>(
  sql: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  try {
    return (await client.query<R>(sql, values)).rows
  } finally {
    await client.end()
  }
}

/** Every key under `prefix` (as `prefix:…`), by SCAN (never KEYS: a server may be shared), sorted. */
export async function scanKeys(client: Redis, prefix: string): Promise<string[]> {
  const found = new Set<string>()
  let cursor = '0'
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    cursor = next
    for (const key of batch) found.add(key)
  } while (cursor !== '0')
  return [...found].sort()
}

/** A fresh database for one test: a SQLite file in a temp dir, or a throwaway PostgreSQL schema. */
export async function freshDatabaseUrl(t: TestContext, dialect: DialectName): Promise<string> {
  if (dialect === 'sqlite') return `sqlite:${join(await tempDir(t), 'usersvc.db')}`
  const schema = `test_${randomBytes(8).toString('hex')}`
  await adminQuery(`create schema ${schema}`)
  t.after(() => adminQuery(`drop schema if exists ${schema} cascade`))
  return `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`
}

/** A clock that runs with real time until a test moves or freezes it. */
export class TestClock implements Clock {
  private offsetMs = 0
  private frozenAt: number | undefined
  now(): Date {
    return new Date(this.frozenAt ?? Date.now() + this.offsetMs)
  }
  freeze(at: Date = this.now()): void {
    this.frozenAt = at.getTime()
  }
  advance(seconds: number): void {
    if (this.frozenAt !== undefined) this.frozenAt += seconds * 1000
    else this.offsetMs += seconds * 1000
  }
}

export interface Harness {
  app: App
  config: Config
  clock: TestClock
  databaseUrl: string
  /** Every log line the app wrote, parsed. */
  logs: string[]
}

export interface HarnessOptions {
  dialect?: DialectName
  env?: Record<string, string>
  /** Reuse a database (e.g. to restart "the same" service with other settings). */
  databaseUrl?: string
  hasher?: Hasher
  store?: Store
  clock?: TestClock
  /** Serve HTTPS (HTTP/2 + HTTP/1.1) with this key and certificate once listening. */
  tls?: { key: string; cert: string }
}

/** Builds the app on a fresh database, closes it after the test. Requests go through `inject`. */
export async function makeApp(t: TestContext, options: HarnessOptions = {}): Promise<Harness> {
  const databaseUrl =
    options.databaseUrl ?? (await freshDatabaseUrl(t, options.dialect ?? 'sqlite'))
  const config = loadConfig({
    LOG_LEVEL: 'info',
    ...TEST_ENV,
    ...options.env,
    DATABASE_URL: databaseUrl,
  })
  const logs: string[] = []
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  const clock = options.clock ?? new TestClock()
  const app = buildApp({
    config,
    clock,
    logStream,
    hasher: options.hasher,
    store: options.store,
    tls: options.tls,
  })
  t.after(() => app.close())
  await app.ready()
  return { app, config, clock, databaseUrl, logs }
}

export interface Session {
  access_token: string
  refresh_token: string
  expires_in: number
  token_type: string
  user: { id: string; login: string; role: string; registered_at: string }
}

export async function register(app: App, login: string, password = PASSWORD) {
  return app.inject({ method: 'POST', url: '/user/', payload: { login, password } })
}

export async function login(app: App, loginName: string, password = PASSWORD) {
  return app.inject({ method: 'POST', url: '/session/', payload: { login: loginName, password } })
}

/** Logs in and returns the session; fails the test loudly unless it is a 200. */
export async function session(app: App, loginName: string, password = PASSWORD): Promise<Session> {
  const res = await login(app, loginName, password)
  if (res.statusCode !== 200) throw new Error(`login ${loginName}: ${res.statusCode} ${res.body}`)
  return res.json() as Session
}

/** Registers and logs in; fails the test loudly if either step does not succeed. */
export async function signUp(app: App, loginName: string, password = PASSWORD): Promise<Session> {
  const created = await register(app, loginName, password)
  if (created.statusCode !== 201)
    throw new Error(`register ${loginName}: ${created.statusCode} ${created.body}`)
  return session(app, loginName, password)
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` }
}

/** Makes an admin directly through the service layer, as `usersvc admin create` does. */
export async function signUpAdmin(
  app: App,
  loginName: string,
  password = PASSWORD,
): Promise<Session> {
  await app.users.register(loginName, password, 'admin')
  return session(app, loginName, password)
}

/** A real (cheap) argon2id hasher that counts what the service asks of it. */
export async function countingHasher() {
  const real = await createHasher({ params: { memoryCost: 256, timeCost: 1, parallelism: 1 } })
  const calls = { hash: 0, verify: 0, verifyDummy: 0 }
  const hasher: Hasher = {
    admission: real.admission,
    needsRehash: (stored) => real.needsRehash(stored),
    hash(password) {
      calls.hash++
      return real.hash(password)
    },
    verify(stored, password) {
      calls.verify++
      return real.verify(stored, password)
    },
    verifyDummy(password) {
      calls.verifyDummy++
      return real.verifyDummy(password)
    },
  }
  const total = () => calls.hash + calls.verify + calls.verifyDummy
  const reset = () => {
    calls.hash = 0
    calls.verify = 0
    calls.verifyDummy = 0
  }
  return { hasher, calls, total, reset }
}

/** Whether a server can listen on `port` of 127.0.0.1 right now. */
export async function listenable(port: number): Promise<boolean> {
  const server = createServer()
  const ok = await new Promise<boolean>((done) => {
    server.once('error', () => done(false))
    server.listen(port, '127.0.0.1', () => done(true))
  })
  if (ok) await new Promise<void>((done) => server.close(() => done()))
  return ok
}

// Ports for servers that cannot take port 0 (nginx, a private Redis): picked below the kernel's
// range for port 0 and outgoing connections, so that another test file's listen(0) or connect()
// cannot take one between the check and the server's own listen.
const [EPHEMERAL_LOW = 32768] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
  .trim()
  .split(/\s+/)
  .map(Number)
const FIXED_LOW = 20000
const handedOut = new Set<number>()

/** `count` consecutive ports nothing listens on right now, never handed out before here. */
export async function freePorts(count: number): Promise<number> {
  for (;;) {
    const base = randomInt(FIXED_LOW, EPHEMERAL_LOW - count)
    const ports = Array.from({ length: count }, (_, i) => base + i)
    if (ports.some((port) => handedOut.has(port))) continue
    let all = true
    for (const port of ports) if (all) all = await listenable(port)
    if (!all) continue
    for (const port of ports) handedOut.add(port)
    return base
  }
}

/** A port nothing listens on right now (for servers that cannot take port 0, like nginx). */
export async function freePort(): Promise<number> {
  return freePorts(1)
}
