// How each driver says "duplicate", "I am not there" or "my storage failed": the one place that
// knows both.
interface DriverError {
  code?: unknown
  errcode?: unknown
  /** PostgreSQL: the violated constraint's (or unique index's) name. */
  constraint?: unknown
  message?: unknown
}

const SQLITE_CONSTRAINT_PRIMARYKEY = 1555
const SQLITE_CONSTRAINT_UNIQUE = 2067
const SQLITE_BUSY = 5

export function isUniqueViolation(error: unknown): boolean {
  const e = error as DriverError
  return (
    e?.code === '23505' ||
    e?.errcode === SQLITE_CONSTRAINT_UNIQUE ||
    e?.errcode === SQLITE_CONSTRAINT_PRIMARYKEY
  )
}

/**
 * A unique violation of a constraint on `column`: PostgreSQL names the constraint or index (ours
 * carry the column's name), SQLite the column ("UNIQUE constraint failed: users.email_key").
 */
export function isUniqueViolationOf(error: unknown, column: string): boolean {
  if (!isUniqueViolation(error)) return false
  const e = error as DriverError
  if (typeof e.constraint === 'string') return e.constraint.includes(column)
  return typeof e.message === 'string' && e.message.includes(`.${column}`)
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
])

/** What a driver error says about the storage under the database, as the log names it. */
export type StorageFault =
  | 'read-only'
  | 'full'
  | 'I/O error'
  | 'corrupt'
  | 'cannot open'
  | 'not a database'

// SQLite primary result codes: the low byte of node:sqlite's (extended) errcode.
const sqliteFaults: Record<number, StorageFault> = {
  8: 'read-only', // SQLITE_READONLY
  10: 'I/O error', // SQLITE_IOERR (EROFS and EIO on write or fsync come back as this)
  11: 'corrupt', // SQLITE_CORRUPT
  13: 'full', // SQLITE_FULL
  14: 'cannot open', // SQLITE_CANTOPEN
  26: 'not a database', // SQLITE_NOTADB
}

const postgresFaults: Record<string, StorageFault> = {
  '53100': 'full', // disk_full
  '58030': 'I/O error', // io_error
  '25006': 'read-only', // read_only_sql_transaction: a standby, or default_transaction_read_only
}

/** The storage fault a driver error reports, if it reports one. */
export function storageFault(error: unknown): StorageFault | undefined {
  const e = error as DriverError
  if (e === null || typeof e !== 'object') return undefined
  if (typeof e.errcode === 'number') return sqliteFaults[e.errcode & 0xff]
  return typeof e.code === 'string' ? postgresFaults[e.code] : undefined
}

/** The database cannot serve right now (down, restarting, locked, its storage failing): a 503, not a 500. */
export function isUnavailable(error: unknown): boolean {
  const e = error as DriverError & { message?: unknown }
  if (e === null || typeof e !== 'object') return false
  if (e.errcode === SQLITE_BUSY) return true
  if (storageFault(e)) return true
  if (typeof e.code === 'string') {
    if (networkCodes.has(e.code)) return true
    // PostgreSQL classes 08 (connection exception), 53 (insufficient resources: disk, memory,
    // connections) and 57P (operator intervention: shutdown).
    if (/^08|^53|^57P0[1-3]$/.test(e.code)) return true
  }
  return (
    typeof e.message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|Query read timeout/.test(
      e.message,
    )
  )
}
