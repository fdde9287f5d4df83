import { mkdirSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite'
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type Kysely,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  type SqliteStatement,
  sql,
} from 'kysely'
import { lru } from '../lru.ts'

/** `sqlite:./data/x.db`, `sqlite:/abs/x.db`, `sqlite:///abs/x.db` or `sqlite::memory:` → a path. */
export function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length)
  if (rest === ':memory:') return rest
  return resolve(rest.startsWith('///') ? rest.slice(2) : rest)
}

const STATEMENT_CACHE = 256
const BUSY_TIMEOUT_MS = 5000
const SQLITE_BUSY = 5

/**
 * Two processes opening a new file at once both switch it to WAL, and SQLite answers one of them
 * "database is locked" at once instead of calling the busy handler: that one tries again, within
 * the busy timeout. Only at start-up, so a synchronous pause is fine.
 */
function switchToWal(database: DatabaseSync): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (let attempt = 1; ; attempt++) {
    try {
      database.exec('PRAGMA journal_mode = WAL;')
      return
    } catch (error) {
      // errcode is the extended code (SQLITE_BUSY_RECOVERY, …): its low byte is the primary one.
      const busy = ((error as { errcode?: number }).errcode ?? 0) % 256 === SQLITE_BUSY
      if (!busy || Date.now() >= deadline) throw error
      Atomics.wait(pause, 0, 0, Math.min(10 * attempt, 100))
    }
  }
}

/** Device and inode of the file at `path`, or undefined if there is none. */
export function fileIdentity(path: string): string | undefined {
  const stats = statSync(path, { throwIfNoEntry: false })
  return stats && `${stats.dev}:${stats.ino}`
}

/** A node:sqlite database in the shape Kysely's SqliteDialect expects, and what the guard needs. */
export interface SqliteFile extends SqliteDatabase {
  /** The absolute path, or ':memory:'. */
  readonly path: string
  /** The file's device and inode when it was opened (undefined in memory). */
  readonly identity: string | undefined
  /** Opens the file afresh, then closes the old connection: one SQLite opened read-only stays so. */
  reopen(): void
  /** Whether a transaction is open (SQLite ends one by itself on some errors). */
  readonly inTransaction: boolean
}

/**
 * WAL + synchronous=FULL: a transaction is on disk before COMMIT returns, so a 201 survives a
 * crash or power loss; busy_timeout lets a CLI command share the file with a running service.
 */
function connect(path: string): DatabaseSync {
  // The busy timeout (set by `timeout`) first: even switching to WAL waits for another's lock.
  const database = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS })
  try {
    switchToWal(database)
    database.exec(`
      PRAGMA synchronous = FULL;
      PRAGMA foreign_keys = ON;
    `)
  } catch (error) {
    database.close()
    throw error
  }
  return database
}

/** Opens a node:sqlite database for Kysely's SqliteDialect (which expects better-sqlite3's shape). */
export function openSqlite(url: string): SqliteFile {
  const path = sqlitePath(url)
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  let database = connect(path)
  const identity = path === ':memory:' ? undefined : fileIdentity(path)
  // Kysely prepares every query afresh; SQLite's prepare is not free, so keep recent ones,
  // wrapped once in the shape Kysely expects (better-sqlite3's).
  const cache = lru<string, SqliteStatement>(STATEMENT_CACHE)
  const wrap = (statement: StatementSync): SqliteStatement => {
    const params = (p: ReadonlyArray<unknown>) => p as SQLInputValue[]
    return {
      reader: statement.columns().length > 0,
      all: (p) => statement.all(...params(p)),
      run: (p) => statement.run(...params(p)),
      iterate: (p) => statement.iterate(...params(p)),
    }
  }
  return {
    path,
    identity,
    reopen() {
      const fresh = connect(path)
      cache.clear()
      if (database.isOpen) database.close()
      database = fresh
    },
    close: () => {
      cache.clear()
      if (database.isOpen) database.close()
    },
    get inTransaction() {
      return database.isOpen && database.isTransaction
    },
    prepare(sql) {
      let statement = cache.get(sql)
      if (!statement) {
        statement = wrap(database.prepare(sql))
        cache.set(sql, statement)
      }
      return statement
    },
  }
}

/** Migrations take SQLite's write lock, so processes starting at once on one file wait in turn. */
class SerialSqliteAdapter extends SqliteAdapter {
  #locked = false
  override async acquireMigrationLock(db: Kysely<unknown>): Promise<void> {
    await sql`begin immediate`.execute(db)
    this.#locked = true
  }
  override async releaseMigrationLock(db: Kysely<unknown>): Promise<void> {
    // Only if acquiring worked: a failed BEGIN must surface as itself, not as "no transaction".
    if (!this.#locked) return
    this.#locked = false
    await sql`commit`.execute(db)
  }
}

/**
 * Transactions take the write lock when they begin. A deferred one (Kysely's `begin`) that reads
 * and then writes fails at once with SQLITE_BUSY_SNAPSHOT, without waiting, if another process
 * (a CLI command, a second instance) wrote in between; an immediate one waits its turn instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  readonly #file: SqliteFile
  constructor(config: SqliteDialectConfig & { database: SqliteFile }) {
    super(config)
    this.#file = config.database
  }
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
  /**
   * SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR, …):
   * then the error that did it must surface, not "cannot rollback - no transaction is active".
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.#file.inTransaction) await super.rollbackTransaction(connection)
  }
}

export class SerialSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig & { database: SqliteFile }
  constructor(config: SqliteDialectConfig & { database: SqliteFile }) {
    super(config)
    this.#config = config
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config)
  }
  override createAdapter(): DialectAdapter {
    return new SerialSqliteAdapter()
  }
}
