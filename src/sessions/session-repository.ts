import { type Db, toDate } from '../db/schema.ts'
import type { Aal, Amr } from '../tokens/access.ts'

/** A session: one refresh-token family, and how it was authenticated. */
export interface Session {
  id: string
  userId: string
  createdAt: Date
  lastUsedAt: Date
  expiresAt: Date
  userAgent: string | null
  address: string | null
  aal: Aal
  amr: Amr[]
}

export interface NewSession extends Omit<Session, 'lastUsedAt'> {}

/** Sessions as rows of their own. Works on a Kysely instance or a transaction. */
export function sessionRepository(db: Db) {
  return {
    async insert(session: NewSession): Promise<void> {
      await db
        .insertInto('sessions')
        .values({
          id: session.id,
          user_id: session.userId,
          created_at: session.createdAt.toISOString(),
          last_used_at: session.createdAt.toISOString(),
          expires_at: session.expiresAt.toISOString(),
          user_agent: session.userAgent,
          address: session.address,
          aal: session.aal,
          amr: JSON.stringify(session.amr),
          ended_at: null,
        })
        .execute()
    },

    /** The session if it has not ended (its expiry is its refresh tokens' business). */
    async findLive(id: string): Promise<Session | undefined> {
      const row = await db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', id)
        .where('ended_at', 'is', null)
        .executeTakeFirst()
      return row && session(row)
    },

    /** Has it ended? True for an unknown id too: access tokens of no session are refused. */
    async hasEnded(id: string): Promise<boolean> {
      const row = await db
        .selectFrom('sessions')
        .select('ended_at')
        .where('id', '=', id)
        .executeTakeFirst()
      return !row || row.ended_at !== null
    },

    /** The user's sessions that have not ended or expired, newest use first. */
    async listLive(userId: string, now: Date): Promise<Session[]> {
      const rows = await db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .where('expires_at', '>', now.toISOString())
        .orderBy('last_used_at', 'desc')
        .orderBy('id', 'desc')
        .execute()
      return rows.map(session)
    },

    /** A refresh: the session was used now and lives until the new refresh token expires. */
    async touch(id: string, now: Date, expiresAt: Date): Promise<void> {
      await db
        .updateTable('sessions')
        .set({ last_used_at: now.toISOString(), expires_at: expiresAt.toISOString() })
        .where('id', '=', id)
        .execute()
    },

    /** Ends it, if it is the user's and live; false otherwise. */
    async end(userId: string, id: string, now: Date): Promise<boolean> {
      const result = await db
        .updateTable('sessions')
        .set({ ended_at: now.toISOString() })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** Ends every session of the user; the ids of those that were live (not yet expired). */
    async endAllOf(userId: string, now: Date): Promise<string[]> {
      const rows = await db
        .updateTable('sessions')
        .set({ ended_at: now.toISOString() })
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .returning(['id', 'expires_at'])
        .execute()
      return rows.filter((row) => toDate(row.expires_at) > now).map((row) => row.id)
    },

    /** Housekeeping: ended or expired sessions past `before` are of no use to anyone. */
    async deleteStale(before: Date): Promise<number> {
      const result = await db
        .deleteFrom('sessions')
        .where((eb) =>
          eb.or([
            eb('expires_at', '<', before.toISOString()),
            eb('ended_at', '<', before.toISOString()),
          ]),
        )
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

function session(row: {
  id: string
  user_id: string
  created_at: Date | string
  last_used_at: Date | string
  expires_at: Date | string
  user_agent: string | null
  address: string | null
  aal: string
  amr: string
}): Session {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: toDate(row.created_at),
    lastUsedAt: toDate(row.last_used_at),
    expiresAt: toDate(row.expires_at),
    userAgent: row.user_agent,
    address: row.address,
    aal: row.aal as Aal,
    amr: JSON.parse(row.amr) as Amr[],
  }
}

export type SessionRepository = ReturnType<typeof sessionRepository>
