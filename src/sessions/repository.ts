import { type Db, toDate } from '../db/schema.ts'

export interface RefreshTokenRow {
  id: string
  familyId: string
  userId: string
  tokenHash: string
  expiresAt: Date
  usedAt: Date | null
  revokedAt: Date | null
}

export interface NewRefreshToken {
  id: string
  familyId: string
  userId: string
  tokenHash: string
  createdAt: Date
  expiresAt: Date
}

/** Refresh tokens, stored only as hashes. Works on a Kysely instance or a transaction. */
export function refreshTokenRepository(db: Db) {
  return {
    async insert(token: NewRefreshToken): Promise<void> {
      await db
        .insertInto('refresh_tokens')
        .values({
          id: token.id,
          family_id: token.familyId,
          user_id: token.userId,
          token_hash: token.tokenHash,
          created_at: token.createdAt.toISOString(),
          expires_at: token.expiresAt.toISOString(),
          used_at: null,
          revoked_at: null,
        })
        .execute()
    },

    async findById(id: string): Promise<RefreshTokenRow | undefined> {
      const row = await db
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst()
      if (!row) return undefined
      return {
        id: row.id,
        familyId: row.family_id,
        userId: row.user_id,
        tokenHash: row.token_hash,
        expiresAt: toDate(row.expires_at),
        usedAt: row.used_at === null ? null : toDate(row.used_at),
        revokedAt: row.revoked_at === null ? null : toDate(row.revoked_at),
      }
    },

    /** Spends a token; false when it was already spent or revoked (a concurrent refresh won). */
    async markUsed(id: string, now: Date): Promise<boolean> {
      const result = await db
        .updateTable('refresh_tokens')
        .set({ used_at: now.toISOString() })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** The user's family only: an id another user names ends nothing of theirs. */
    async revokeFamily(userId: string, familyId: string, now: Date): Promise<void> {
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: now.toISOString() })
        .where('family_id', '=', familyId)
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .execute()
    },

    async revokeAllOfUser(userId: string, now: Date): Promise<void> {
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: now.toISOString() })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .execute()
    },

    /** Housekeeping: tokens past their expiry are useless, spent or not. */
    async deleteExpired(before: Date): Promise<number> {
      const result = await db
        .deleteFrom('refresh_tokens')
        .where('expires_at', '<', before.toISOString())
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

export type RefreshTokenRepository = ReturnType<typeof refreshTokenRepository>
