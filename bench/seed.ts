// Stores for the benchmark: a fresh SQLite file or PostgreSQL schema, seeded in bulk through
// the store (Kysely inserts in big transactions, one precomputed argon2id hash for everyone),
// never through the API. Also the store's durable commit rate, the yardstick for refresh.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { sql } from 'kysely'
import pg from 'pg'
import { v7 as uuidv7 } from 'uuid'
import { ensureDatabase } from '../scripts/cluster.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import type { Store } from '../src/db/schema.ts'
import { openStore } from '../src/db/store.ts'
import { newRefreshSecret } from '../src/sessions/refresh-token.ts'
import { opsPerSecond } from './stats.ts'

export interface BenchStore {
  kind: 'sqlite' | 'postgres'
  url: string
  /** For the report: never the password. */
  label: string
  drop(): Promise<void>
}

/** A fresh SQLite file in `dir`, or a fresh schema in the database of `postgresUrl`. */
export async function freshStore(
  kind: 'sqlite' | 'postgres',
  name: string,
  dir: string,
  postgresUrl?: string,
): Promise<BenchStore> {
  if (kind === 'sqlite') {
    const path = join(dir, `${name}.db`)
    return { kind, url: `sqlite:${path}`, label: `sqlite (${name}.db)`, drop: async () => {} }
  }
  if (!postgresUrl) throw new Error('postgres needs DATABASE_URL')
  await ensureDatabase(postgresUrl)
  const schema = `bench_${name.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`
  await adminQuery(postgresUrl, `create schema ${schema}`)
  const url = new URL(postgresUrl)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return {
    kind,
    url: url.toString(),
    label: `postgres (${url.host}${url.pathname}, schema ${schema})`,
    drop: async () => {
      await adminQuery(postgresUrl, `drop schema if exists ${schema} cascade`)
    },
  }
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

const BATCH = 1000
const ROWS_PER_TRANSACTION = 100_000

/**
 * Migrates, then stores `count` users user0 … user{count-1}, all with `passwordHash`, and
 * `tokens` refresh tokens (each its own family) of user0 … ; returns the tokens.
 */
export async function seed(
  url: string,
  count: number,
  passwordHash: string,
  tokens: number,
): Promise<string[]> {
  const store = openStore(url, { poolSize: 2 })
  try {
    await migrateToLatest(store)
    const now = new Date().toISOString()
    const ids: string[] = []
    for (let start = 0; start < count; start += ROWS_PER_TRANSACTION) {
      const end = Math.min(count, start + ROWS_PER_TRANSACTION)
      await store.db.transaction().execute(async (trx) => {
        for (let from = start; from < end; from += BATCH) {
          const rows = []
          for (let i = from; i < Math.min(end, from + BATCH); i++) {
            const id = uuidv7()
            if (ids.length < tokens) ids.push(id)
            const login = `user${i}`
            rows.push({
              id,
              login,
              login_key: login,
              password_hash: passwordHash,
              role: 'user' as const,
              registered_at: now,
              password_changed_at: now,
            })
          }
          await trx.insertInto('users').values(rows).execute()
        }
      })
    }
    const expires = new Date(Date.now() + 30 * 86_400_000).toISOString()
    const secrets = Array.from({ length: tokens }, () => newRefreshSecret())
    for (let from = 0; from < secrets.length; from += BATCH) {
      const rows = secrets.slice(from, from + BATCH).map((secret, i) => ({
        id: secret.id,
        family_id: secret.id,
        user_id: ids[(from + i) % ids.length] as string,
        token_hash: secret.hash,
        created_at: now,
        expires_at: expires,
        used_at: null,
        revoked_at: null,
      }))
      await store.db.insertInto('refresh_tokens').values(rows).execute()
    }
    return secrets.map((secret) => secret.token)
  } finally {
    await store.destroy()
  }
}

/**
 * Durable commits per second of a trivial transaction (one single-row insert), `concurrency`
 * at a time, on a store opened exactly as the service opens it (for SQLite: a sibling file with
 * the service's pragmas, WAL and synchronous=FULL, on the same disk).
 */
export async function commitsPerSecond(
  url: string,
  seconds: number,
  concurrency: number,
): Promise<number> {
  const store: Store = openStore(url, { poolSize: Math.max(2, concurrency) })
  try {
    await sql`create table if not exists bench_commits (n integer not null)`.execute(store.db)
    const commit = () =>
      store.db.transaction().execute(async (trx) => {
        await sql`insert into bench_commits (n) values (1)`.execute(trx)
      })
    const rate = await opsPerSecond(commit, seconds, concurrency)
    await sql`drop table bench_commits`.execute(store.db)
    return rate
  } finally {
    await store.destroy()
  }
}
