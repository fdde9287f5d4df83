import { type Kysely, type Selectable, sql } from 'kysely'
import { type Database, toDate, type UsersTable } from '../db/schema.ts'
import type { Role } from '../tokens/access.ts'

export interface User {
  id: string
  login: string
  role: Role
  registeredAt: Date
  passwordChangedAt: Date
}

export interface UserWithHash extends User {
  passwordHash: string
}

export interface NewUser {
  id: string
  login: string
  loginKey: string
  passwordHash: string
  role: Role
  now: Date
}

function toUser(row: Selectable<UsersTable>): UserWithHash {
  return {
    id: row.id,
    login: row.login,
    role: row.role,
    registeredAt: toDate(row.registered_at),
    passwordChangedAt: toDate(row.password_changed_at),
    passwordHash: row.password_hash,
  }
}

export function withoutHash({ passwordHash: _, ...user }: UserWithHash): User {
  return user
}

/** Users in the store. Works on a Kysely instance or a transaction. */
export function userRepository(db: Kysely<Database>) {
  return {
    /** Throws the driver's unique violation when the login key is taken (see db/errors.ts). */
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
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      return withoutHash(toUser(row))
    },

    async findByKey(loginKey: string): Promise<UserWithHash | undefined> {
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('login_key', '=', loginKey)
        .executeTakeFirst()
      return row && toUser(row)
    },

    async findById(id: string): Promise<UserWithHash | undefined> {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
      return row && toUser(row)
    },

    /** Keyset page in registration order (UUIDv7 ids sort by creation time). */
    async list(after: string | undefined, limit: number): Promise<User[]> {
      let query = db.selectFrom('users').selectAll().orderBy('id').limit(limit)
      if (after) query = query.where('id', '>', after)
      return (await query.execute()).map((row) => withoutHash(toUser(row)))
    },

    /** Rehash on login: only if the hash is still the one we verified (no lost password change). */
    async replaceHash(id: string, expected: string, next: string): Promise<boolean> {
      const result = await db
        .updateTable('users')
        .set({ password_hash: next })
        .where('id', '=', id)
        .where('password_hash', '=', expected)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /**
     * Inside a transaction: locks the user until COMMIT, with a write that changes nothing (the
     * row's lock on PostgreSQL, the database's on SQLite), so that a password change committing
     * meanwhile is waited for and then seen. With `passwordChangedAt`: false unless the password
     * is still the one of that moment. False when the user is gone.
     */
    async hold(id: string, passwordChangedAt?: Date): Promise<boolean> {
      let query = db
        .updateTable('users')
        // Not the key: on PostgreSQL that would block other sessions' inserts (FOR KEY SHARE).
        .set({ password_changed_at: sql<string>`password_changed_at` })
        .where('id', '=', id)
      if (passwordChangedAt) {
        query = query.where('password_changed_at', '=', passwordChangedAt.toISOString())
      }
      const result = await query.executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    async setPassword(id: string, passwordHash: string, now: Date): Promise<void> {
      await db
        .updateTable('users')
        .set({ password_hash: passwordHash, password_changed_at: now.toISOString() })
        .where('id', '=', id)
        .execute()
    },

    async remove(id: string): Promise<boolean> {
      const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}

export type UserRepository = ReturnType<typeof userRepository>
