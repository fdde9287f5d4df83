import type { ExpressionBuilder, Selectable } from 'kysely'
import { type Database, type Db, toDate, type UsersTable } from '../db/schema.ts'
import type { Role, User, UserWithHash } from './types.ts'

export interface NewUser {
  id: string
  login: string
  loginKey: string
  passwordHash: string
  role: Role
  now: Date
  /** As checkEmail gives them, or absent for no address. */
  email?: { address: string; key: string }
}

type Row = Selectable<UsersTable> & { mfa_enabled?: unknown }

/** Whether the user has an active (confirmed) second factor: read with the row, in one query. */
const mfaEnabled = (eb: ExpressionBuilder<Database, 'users'>) =>
  eb
    .exists(
      eb
        .selectFrom('factors')
        .select('factors.id')
        .whereRef('factors.user_id', '=', 'users.id')
        .where('factors.confirmed_at', 'is not', null),
    )
    .as('mfa_enabled')

function withHash(row: Row): UserWithHash {
  return {
    id: row.id,
    login: row.login,
    loginKey: row.login_key,
    role: row.role,
    registeredAt: toDate(row.registered_at),
    passwordChangedAt: toDate(row.password_changed_at),
    email: row.email,
    emailKey: row.email_key,
    emailVerifiedAt: row.email_verified_at === null ? null : toDate(row.email_verified_at),
    // PostgreSQL answers EXISTS with a boolean, SQLite with 0 or 1.
    mfaEnabled: row.mfa_enabled === true || row.mfa_enabled === 1,
    disabledAt: row.disabled_at === null ? null : toDate(row.disabled_at),
    passwordHash: row.password_hash,
  }
}

export function withoutHash({ passwordHash: _, ...user }: UserWithHash): User {
  return user
}

/** Users in the store. Works on a Kysely instance or a transaction (see lock.ts for the lock). */
export function userRepository(db: Db) {
  /**
   * The row whose `column` is `value`. No stored key or id holds a NUL (registration refuses
   * control characters), and PostgreSQL's text cannot even be asked for one: such a value names
   * no account, whatever path (a login, a recovery) brought it here.
   */
  const rowBy = async (column: 'id' | 'login_key' | 'email_key', value: string) =>
    value.includes('\u0000')
      ? undefined
      : db
          .selectFrom('users')
          .selectAll('users')
          .select(mfaEnabled)
          .where(column, '=', value)
          .executeTakeFirst()
  const userBy = async (column: 'id' | 'login_key' | 'email_key', value: string) => {
    const row = await rowBy(column, value)
    return row && withoutHash(withHash(row))
  }
  return {
    /**
     * Throws the driver's unique violation when the login key or the email key is taken (see
     * db/errors.ts).
     */
    async insert(user: NewUser): Promise<User> {
      const at = user.now.toISOString()
      const row = await db
        .insertInto('users')
        .values({
          id: user.id,
          login: user.login,
          login_key: user.loginKey,
          password_hash: user.passwordHash,
          role: user.role,
          registered_at: at,
          password_changed_at: at,
          email: user.email?.address ?? null,
          email_key: user.email?.key ?? null,
          email_verified_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      return withoutHash(withHash(row))
    },

    findById: (id: string): Promise<User | undefined> => userBy('id', id),

    findByKey: (loginKey: string): Promise<User | undefined> => userBy('login_key', loginKey),

    findByEmailKey: (emailKey: string): Promise<User | undefined> => userBy('email_key', emailKey),

    async existsByKey(loginKey: string): Promise<boolean> {
      return (await rowBy('login_key', loginKey)) !== undefined
    },

    async existsByEmailKey(emailKey: string): Promise<boolean> {
      return (await rowBy('email_key', emailKey)) !== undefined
    },

    /** For the password check only. */
    async findWithHashByKey(loginKey: string): Promise<UserWithHash | undefined> {
      const row = await rowBy('login_key', loginKey)
      return row && withHash(row)
    },

    /** For the password check only. */
    async findWithHashById(id: string): Promise<UserWithHash | undefined> {
      const row = await rowBy('id', id)
      return row && withHash(row)
    },

    /** Keyset page in registration order (UUIDv7 ids sort by creation time). */
    async list(after: string | undefined, limit: number): Promise<User[]> {
      let query = db
        .selectFrom('users')
        .selectAll('users')
        .select(mfaEnabled)
        .orderBy('id')
        .limit(limit)
      if (after) query = query.where('id', '>', after)
      return (await query.execute()).map((row) => withoutHash(withHash(row)))
    },

    /** Rehash on login: only if the hash is still the one we verified (no lost password change). */
    async replaceHash(id: string, expected: string, next: string): Promise<boolean> {
      const result = await db
        .updateTable('users')
        .set({ password_hash: next, password_scheme: null })
        .where('id', '=', id)
        .where('password_hash', '=', expected)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** Under the user's lock (lock.ts), with the sessions ended in the same transaction. */
    async setPassword(id: string, passwordHash: string, now: Date): Promise<void> {
      await db
        .updateTable('users')
        .set({
          password_hash: passwordHash,
          password_scheme: null,
          password_changed_at: now.toISOString(),
        })
        .where('id', '=', id)
        .execute()
    },

    /**
     * A new address (or none), unverified. Throws the driver's unique violation when another
     * account has it.
     */
    async setEmail(id: string, email: { address: string; key: string } | null): Promise<void> {
      await db
        .updateTable('users')
        .set({
          email: email?.address ?? null,
          email_key: email?.key ?? null,
          email_verified_at: null,
        })
        .where('id', '=', id)
        .execute()
    },

    /** The address is proven, if it is still `address`. */
    async markEmailVerified(id: string, address: string, now: Date): Promise<boolean> {
      const result = await db
        .updateTable('users')
        .set({ email_verified_at: now.toISOString() })
        .where('id', '=', id)
        .where('email', '=', address)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /**
     * Disables (a time) or enables (null) the account, if it is not so already: true when this
     * call changed it. Under the user's lock, with its sessions ended in the same transaction.
     */
    async setDisabled(id: string, at: Date | null, reason: string | null): Promise<boolean> {
      const result = await db
        .updateTable('users')
        .set({ disabled_at: at?.toISOString() ?? null, disabled_reason: reason })
        .where('id', '=', id)
        .where('disabled_at', at ? 'is' : 'is not', null)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** Its refresh tokens go with it (ON DELETE CASCADE). */
    async remove(id: string): Promise<boolean> {
      const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}

export type UserRepository = ReturnType<typeof userRepository>
