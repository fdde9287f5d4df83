// The app under test in this process: its environment, clock, fresh databases, and makeApp.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { TestContext } from 'node:test'
import { type App, buildApp } from '../../src/app.ts'
import type { Clock } from '../../src/clock.ts'
import { type Config, loadConfig } from '../../src/config/index.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Store } from '../../src/db/schema.ts'
import { openStore } from '../../src/db/store.ts'
import { createHasher, type Hasher } from '../../src/passwords/hasher.ts'
import { adminQuery, POSTGRES_URL } from './postgres.ts'

/** The repository's root directory. */
export const ROOT = join(import.meta.dirname, '..', '..')

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
  THROTTLE_RECOVERY_PER_ADDRESS: '100000',
  // Bursts in tests (races, many sessions) on a loaded machine must not meet the overload bound;
  // test/hardening/overload.test.ts sets its own.
  HASH_QUEUE_MAX_WAIT_MS: '60000',
}

export type DialectName = 'sqlite' | 'postgres'

/** Dialects the suite runs on; CI runs both. TEST_DIALECTS=sqlite narrows it for a quick loop. */
export function dialects(): DialectName[] {
  return (process.env.TEST_DIALECTS ?? 'sqlite,postgres').split(',') as DialectName[]
}

/** A temp dir, removed after the test. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'usersvc-test-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A fresh database for one test: a SQLite file in a temp dir, or a throwaway PostgreSQL schema. */
export async function freshDatabaseUrl(t: TestContext, dialect: DialectName): Promise<string> {
  if (dialect === 'sqlite') return `sqlite:${join(await tempDir(t), 'usersvc.db')}`
  const schema = `test_${randomBytes(8).toString('hex')}`
  await adminQuery(`create schema ${schema}`)
  t.after(() => adminQuery(`drop schema if exists ${schema} cascade`))
  return `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`
}

/** A migrated database of its own for the processes of one test (a file they share, or a schema). */
export async function migratedDatabaseUrl(t: TestContext, dialect: DialectName): Promise<string> {
  const url =
    dialect === 'sqlite'
      ? `sqlite:${join(await tempDir(t), 'usersvc.db')}`
      : await freshDatabaseUrl(t, dialect)
  const store = openStore(url)
  await migrateToLatest(store)
  await store.destroy()
  return url
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
  // Removed only once the app has closed: its sender may be writing a mail until then.
  const mailRoot = await mkdtemp(join(tmpdir(), 'usersvc-test-'))
  let app: App | undefined
  t.after(async () => {
    await app?.close()
    await rm(mailRoot, { recursive: true, force: true })
  })
  const config = loadConfig({
    LOG_LEVEL: 'info',
    ...TEST_ENV,
    // Mail goes to files of this test (support/mail.ts mailDir reads them), unless it says where.
    MAIL_DIR: join(mailRoot, 'mail'),
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
  app = buildApp({
    config,
    clock,
    logStream,
    hasher: options.hasher,
    store: options.store,
    tls: options.tls,
  })
  await app.ready()
  return { app, config, clock, databaseUrl, logs }
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
