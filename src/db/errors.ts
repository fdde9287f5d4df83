// How each driver says "duplicate" or "I am not there": the one place that knows both.
interface DriverError {
  code?: unknown
  errcode?: unknown
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

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
])

/** The database cannot serve right now (down, restarting, locked): a 503, not a 500. */
export function isUnavailable(error: unknown): boolean {
  const e = error as DriverError & { message?: unknown }
  if (e === null || typeof e !== 'object') return false
  if (e.errcode === SQLITE_BUSY) return true
  if (typeof e.code === 'string') {
    if (networkCodes.has(e.code)) return true
    // PostgreSQL classes 08 (connection exception) and 57P (operator intervention: shutdown).
    if (/^08|^57P0[1-3]$/.test(e.code)) return true
  }
  return (
    typeof e.message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|Query read timeout/.test(
      e.message,
    )
  )
}
