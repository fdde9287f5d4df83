import { v7 as uuidv7 } from 'uuid'
import { type Db, type Dialect, toDate } from '../db/schema.ts'

export interface OutboxMessage {
  id: string
  channel: string
  payload: unknown
  createdAt: Date
  /** Tries so far, this one included. */
  attempts: number
}

/** The outbox table. Works on a Kysely instance or a transaction. */
export function outboxRepository(db: Db, dialect: Dialect) {
  return {
    /** Inside the transaction of the change that causes it: it exists exactly when the change does. */
    async add(channel: string, payload: unknown, now: Date): Promise<string> {
      const id = uuidv7()
      const at = now.toISOString()
      await db
        .insertInto('outbox')
        .values({
          id,
          channel,
          payload: JSON.stringify(payload),
          created_at: at,
          attempt_at: at,
          attempts: 0,
          lease_until: null,
          last_error: null,
        })
        .execute()
      return id
    },

    /** Whether anything is due: a read, so an idle sender takes no write lock to find out. */
    async due(channel: string, now: Date): Promise<boolean> {
      const at = now.toISOString()
      const row = await db
        .selectFrom('outbox')
        .select('id')
        .where('channel', '=', channel)
        .where('attempt_at', '<=', at)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]))
        .limit(1)
        .executeTakeFirst()
      return row !== undefined
    },

    /**
     * Up to `limit` due messages, leased to the caller until `leaseUntil`: no other sender takes
     * them meanwhile, and a sender that dies lets them go when the lease ends. PostgreSQL skips
     * rows another instance is claiming; SQLite has one writer at a time anyway.
     */
    async claim(
      channel: string,
      now: Date,
      limit: number,
      leaseUntil: Date,
    ): Promise<OutboxMessage[]> {
      const at = now.toISOString()
      let due = db
        .selectFrom('outbox')
        .select('id')
        .where('channel', '=', channel)
        .where('attempt_at', '<=', at)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]))
        .orderBy('attempt_at')
        .limit(limit)
      if (dialect === 'postgres') due = due.forUpdate().skipLocked()
      const rows = await db
        .updateTable('outbox')
        .set((eb) => ({
          lease_until: leaseUntil.toISOString(),
          attempts: eb('attempts', '+', 1),
        }))
        .where('id', 'in', due)
        .returningAll()
        .execute()
      return rows
        .map((row) => ({
          id: row.id,
          channel: row.channel,
          payload: JSON.parse(row.payload) as unknown,
          createdAt: toDate(row.created_at),
          attempts: row.attempts,
        }))
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    },

    /** Delivered, or given up on: the row (and whatever secret its payload held) is gone. */
    async remove(id: string): Promise<void> {
      await db.deleteFrom('outbox').where('id', '=', id).execute()
    },

    /** Not delivered this time: tried again from `attemptAt`. */
    async retryAt(id: string, attemptAt: Date, error: string): Promise<void> {
      await db
        .updateTable('outbox')
        .set({ attempt_at: attemptAt.toISOString(), lease_until: null, last_error: error })
        .where('id', '=', id)
        .execute()
    },

    /** When the oldest message waiting on `channel` was recorded. */
    async oldest(channel: string): Promise<Date | undefined> {
      const row = await db
        .selectFrom('outbox')
        .select('created_at')
        .where('channel', '=', channel)
        .orderBy('created_at')
        .limit(1)
        .executeTakeFirst()
      return row && toDate(row.created_at)
    },

    async count(channel: string): Promise<number> {
      const row = await db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('channel', '=', channel)
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },
  }
}

export type OutboxRepository = ReturnType<typeof outboxRepository>
