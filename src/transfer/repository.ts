import { chunks } from '../db/chunks.ts'
import { type Db, toDate } from '../db/schema.ts'
import type { Role } from '../users/types.ts'

/** A users row as an import writes it. */
export interface ImportedRow {
  id: string
  login: string
  loginKey: string
  passwordHash: string
  /** The foreign hash's scheme, or null for an argon2id hash (made here or imported as one). */
  passwordScheme: string | null
  role: Role
  registeredAt: Date
  now: Date
  email?: { address: string; key: string }
  emailVerified: boolean
}

/** A user as `usersvc export` writes it: the stored hash, whatever its scheme. */
export interface ExportedRow {
  id: string
  login: string
  email: string | null
  emailVerified: boolean
  role: Role
  registeredAt: Date
  passwordHash: string
}

/** Which of a batch's logins, addresses and ids are taken already. */
export interface Taken {
  loginKeys: Set<string>
  emailKeys: Set<string>
  ids: Set<string>
}

const KEYS_PER_QUERY = 1000

/** Users moved in and out in bulk. Works on a Kysely instance or a transaction. */
export function transferRepository(db: Db) {
  return {
    async taken(loginKeys: string[], emailKeys: string[], ids: string[]): Promise<Taken> {
      const found: Taken = { loginKeys: new Set(), emailKeys: new Set(), ids: new Set() }
      const lookups = [
        ['login_key', loginKeys, found.loginKeys],
        ['email_key', emailKeys, found.emailKeys],
        ['id', ids, found.ids],
      ] as const
      for (const [column, values, into] of lookups) {
        for (const chunk of chunks(values, KEYS_PER_QUERY)) {
          const rows = await db
            .selectFrom('users')
            .select(column)
            .where(column, 'in', chunk)
            .execute()
          for (const row of rows) into.add((row as Record<string, string>)[column] as string)
        }
      }
      return found
    },

    /** Throws the driver's unique violation when a key was taken meanwhile (see db/errors.ts). */
    async insertMany(rows: ImportedRow[]): Promise<void> {
      for (const chunk of chunks(rows)) {
        await db
          .insertInto('users')
          .values(
            chunk.map((row) => ({
              id: row.id,
              login: row.login,
              login_key: row.loginKey,
              password_hash: row.passwordHash,
              password_scheme: row.passwordScheme,
              role: row.role,
              registered_at: row.registeredAt.toISOString(),
              password_changed_at: row.now.toISOString(),
              email: row.email?.address ?? null,
              email_key: row.email?.key ?? null,
              email_verified_at: row.emailVerified ? row.now.toISOString() : null,
            })),
          )
          .execute()
      }
    },

    /** Keyset page in id order, with the hashes: for `usersvc export` only. */
    async exportPage(after: string | undefined, limit: number): Promise<ExportedRow[]> {
      let query = db
        .selectFrom('users')
        .select([
          'id',
          'login',
          'email',
          'email_verified_at',
          'role',
          'registered_at',
          'password_hash',
        ])
        .orderBy('id')
        .limit(limit)
      if (after) query = query.where('id', '>', after)
      return (await query.execute()).map((row) => ({
        id: row.id,
        login: row.login,
        email: row.email,
        emailVerified: row.email_verified_at !== null,
        role: row.role,
        registeredAt: toDate(row.registered_at),
        passwordHash: row.password_hash,
      }))
    },

    /** How many foreign hashes remain, by scheme (the partial index answers it). */
    async foreignCounts(): Promise<Map<string, number>> {
      const rows = await db
        .selectFrom('users')
        .select(['password_scheme', (eb) => eb.fn.countAll<number | string>().as('count')])
        .where('password_scheme', 'is not', null)
        .groupBy('password_scheme')
        .execute()
      return new Map(rows.map((row) => [row.password_scheme as string, Number(row.count)]))
    },
  }
}
