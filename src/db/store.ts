import { Kysely, type LogConfig } from 'kysely'
import pg from 'pg'
import { SchemaScopedPostgresDialect } from './postgres.ts'
import type { Database, Store } from './schema.ts'
import { openSqlite, SerialSqliteDialect } from './sqlite.ts'

export interface StoreOptions {
  poolSize?: number
  /** Errors of idle pooled connections (e.g. the server restarted); unhandled they would crash. */
  onPoolError?: (error: Error) => void
  /** Called with each query's duration in milliseconds. */
  onQuery?: (milliseconds: number) => void
}

function logger(options: StoreOptions): LogConfig | undefined {
  const { onQuery } = options
  return onQuery ? (event) => onQuery(event.queryDurationMillis) : undefined
}

/** One Kysely instance of either dialect, chosen by the URL scheme. */
export function openStore(url: string, options: StoreOptions = {}): Store {
  if (url.startsWith('sqlite:')) {
    const file = openSqlite(url)
    const db = new Kysely<Database>({
      dialect: new SerialSqliteDialect({ database: file }),
      log: logger(options),
    })
    const store: Store = { db, dialect: 'sqlite', destroy: () => db.destroy() }
    if (file.path === ':memory:') return store
    // Holding Kysely's one connection: no transaction is open on the connection being replaced.
    const reopen = () => db.connection().execute(async () => file.reopen())
    return { ...store, file: { path: file.path, identity: file.identity, reopen } }
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    // A bounded wait for a connection: a database that is down gives a 503 soon, not a hang.
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      // A server that accepts but never answers (frozen, partitioned) must not hang requests.
      query_timeout: 5000,
    })
    pool.on('error', (error) => options.onPoolError?.(error))
    const db = new Kysely<Database>({
      dialect: new SchemaScopedPostgresDialect({ pool }),
      log: logger(options),
    })
    const poolStats = () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
    })
    return { db, dialect: 'postgres', destroy: () => db.destroy(), poolStats }
  }
  throw new Error('DATABASE_URL must start with sqlite: or postgres://')
}
