import { sql } from 'kysely'
import type { Db } from '../db/schema.ts'

export interface LockOptions {
  /** Lock only if the password is still the one of that moment (it was checked against it). */
  passwordChangedAt?: Date
  /** Lock only if the account is not disabled (a session must not begin after a disable). */
  enabled?: boolean
}

/**
 * Runs `work` in a transaction that holds the user's lock: the one rule for everything that
 * changes a user's password or sessions (login, refresh, logout, password change, and what comes).
 *
 * The user row first, then its tokens, always in that order: so a password change either
 * commits before a refresh (which then finds its token revoked) or waits for the refresh's
 * COMMIT and then revokes the token it issued. Times that must fall before or after a change
 * (a session's start, a password's change) are taken inside `work`, under the lock.
 *
 * The lock is a write that changes nothing: the row's lock on PostgreSQL, the database's write
 * lock on SQLite (transactions begin immediate there, db/sqlite.ts). Returns undefined, without
 * running `work`, when the user is gone or (with `passwordChangedAt`) its password has changed.
 */
export async function withUserLock<T>(
  db: Db,
  userId: string,
  work: (trx: Db) => Promise<T>,
  options: LockOptions = {},
): Promise<T | undefined> {
  return db.transaction().execute(async (trx) => {
    let query = trx
      .updateTable('users')
      // Not the key: on PostgreSQL that would block other sessions' inserts (FOR KEY SHARE).
      .set({ password_changed_at: sql<string>`password_changed_at` })
      .where('id', '=', userId)
    if (options.passwordChangedAt) {
      query = query.where('password_changed_at', '=', options.passwordChangedAt.toISOString())
    }
    if (options.enabled) query = query.where('disabled_at', 'is', null)
    const locked = await query.executeTakeFirst()
    return locked.numUpdatedRows > 0n ? work(trx) : undefined
  })
}
