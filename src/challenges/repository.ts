import { createHash, randomBytes } from 'node:crypto'
import { type Db, toDate } from '../db/schema.ts'

/** What a challenge is for; each kind is accepted only where it was issued for. */
export type ChallengePurpose =
  /** A login's second step: the `mfa_token`, stored as its SHA-256. */
  | 'mfa'
  /** WebAuthn challenges (stored as themselves: they are sent in the clear anyway). */
  | 'passkey_registration'
  | 'passkey_mfa'
  | 'passkey_login'

export interface Challenge<T = unknown> {
  id: string
  purpose: ChallengePurpose
  userId: string | null
  data: T
  attempts: number
  expiresAt: Date
}

/** A new random value: 256 bits, base64url. */
export const newChallengeValue = (): string => randomBytes(32).toString('base64url')

/** How an `mfa_token` is stored: a copy of the table does not hold usable tokens. */
export const tokenId = (token: string): string =>
  createHash('sha256').update(token).digest('base64url')

/**
 * Single-use, short-lived challenges. Works on a Kysely instance or a transaction. A challenge
 * is live while unspent, unexpired and under its attempt limit; spending is compare-and-set, so
 * of two requests with one challenge only one proceeds.
 */
export function challengeRepository(db: Db) {
  return {
    async insert(c: {
      id: string
      purpose: ChallengePurpose
      userId: string | null
      data: unknown
      now: Date
      ttlSeconds: number
    }): Promise<void> {
      await db
        .insertInto('challenges')
        .values({
          id: c.id,
          purpose: c.purpose,
          user_id: c.userId,
          data: JSON.stringify(c.data ?? null),
          attempts: 0,
          created_at: c.now.toISOString(),
          expires_at: new Date(c.now.getTime() + c.ttlSeconds * 1000).toISOString(),
          used_at: null,
        })
        .execute()
    },

    /** The live challenge `id` of `purpose`, or undefined (unknown, spent, expired, or too many tries). */
    async findLive<T>(
      id: string,
      purpose: ChallengePurpose,
      now: Date,
      maxAttempts = Number.POSITIVE_INFINITY,
    ): Promise<Challenge<T> | undefined> {
      if (id.includes('\u0000')) return undefined
      const row = await db
        .selectFrom('challenges')
        .selectAll()
        .where('id', '=', id)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now.toISOString())
        .executeTakeFirst()
      if (!row || row.attempts >= maxAttempts) return undefined
      return {
        id: row.id,
        purpose,
        userId: row.user_id,
        data: JSON.parse(row.data) as T,
        attempts: row.attempts,
        expiresAt: toDate(row.expires_at),
      }
    },

    /** Spends it; false when it was spent, expired or out of tries meanwhile. */
    async spend(id: string, now: Date, maxAttempts = 1_000_000): Promise<boolean> {
      const result = await db
        .updateTable('challenges')
        .set({ used_at: now.toISOString() })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now.toISOString())
        .where('attempts', '<', maxAttempts)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** Counts a wrong try; the count after it. */
    async countFailure(id: string): Promise<number> {
      const row = await db
        .updateTable('challenges')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .returning('attempts')
        .executeTakeFirst()
      return row?.attempts ?? Number.POSITIVE_INFINITY
    },

    /** Housekeeping: expired challenges are useless. */
    async deleteExpired(before: Date): Promise<number> {
      const result = await db
        .deleteFrom('challenges')
        .where('expires_at', '<', before.toISOString())
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

export type ChallengeRepository = ReturnType<typeof challengeRepository>
