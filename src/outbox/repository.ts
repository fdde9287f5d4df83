import { v7 as uuidv7 } from 'uuid'
import { chunks } from '../db/chunks.ts'
import { type Db, type Dialect, toDate } from '../db/schema.ts'

export interface OutboxMessage {
  id: string
  channel: string
  payload: unknown
  createdAt: Date
  /** Tries so far, this one included. With the id it names one claim (see claim). */
  attempts: number
}

/** What waits on a channel, for metrics and readiness. */
export interface ChannelStats {
  waiting: number
  /** When the oldest message still waiting was recorded; undefined when none waits. */
  oldest?: Date
}

/** A message as recorded: due at once, never tried, leased to nobody. */
const newRow = (channel: string, payload: unknown, at: string) => ({
  id: uuidv7(),
  channel,
  payload: JSON.stringify(payload),
  created_at: at,
  attempt_at: at,
  attempts: 0,
  lease_until: null,
  last_error: null,
})

/** The outbox table. Works on a Kysely instance or a transaction. */
export function outboxRepository(db: Db, dialect: Dialect) {
  // A claim is the row's id and its attempts after the claim: a sender whose lease ran out and
  // was claimed again by another finds its attempts outdated, and leaves the row alone.
  const claimed = (id: string, attempts: number) =>
    db.updateTable('outbox').where('id', '=', id).where('attempts', '=', attempts)

  /** The rows of `channel` due at `at`: their time has come, and no live lease holds them. */
  const dueRows = (channel: string, at: string) =>
    db
      .selectFrom('outbox')
      .select('id')
      .where('channel', '=', channel)
      .where('attempt_at', '<=', at)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]))

  /** How many wait on `channel`, and since when the oldest: one query. */
  async function stats(channel: string): Promise<ChannelStats> {
    const row = await db
      .selectFrom('outbox')
      .select((eb) => [
        eb.fn.countAll<string | number>().as('n'),
        eb.fn.min('created_at').as('oldest'),
      ])
      .where('channel', '=', channel)
      .executeTakeFirstOrThrow()
    const oldest = row.oldest ? toDate(row.oldest) : undefined
    return { waiting: Number(row.n), ...(oldest ? { oldest } : {}) }
  }

  return {
    /** Inside the transaction of the change that causes it: it exists exactly when the change does. */
    async add(channel: string, payload: unknown, now: Date): Promise<string> {
      const row = newRow(channel, payload, now.toISOString())
      await db.insertInto('outbox').values(row).execute()
      return row.id
    },

    /** Many messages on one channel: multi-row inserts, for bulk changes (an import). */
    async addMany(channel: string, payloads: readonly unknown[], now: Date): Promise<void> {
      const at = now.toISOString()
      for (const chunk of chunks(payloads)) {
        await db
          .insertInto('outbox')
          .values(chunk.map((p) => newRow(channel, p, at)))
          .execute()
      }
    },

    /** Whether anything is due: a read, so an idle sender takes no write lock to find out. */
    async due(channel: string, now: Date): Promise<boolean> {
      return (await dueRows(channel, now.toISOString()).limit(1).executeTakeFirst()) !== undefined
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
      let due = dueRows(channel, now.toISOString()).orderBy('attempt_at').orderBy('id').limit(limit)
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
      return (
        rows
          .map((row) => ({
            id: row.id,
            channel: row.channel,
            payload: JSON.parse(row.payload) as unknown,
            createdAt: toDate(row.created_at),
            attempts: row.attempts,
          }))
          // In the order recorded: by time, then by id (UUIDv7, increasing within a millisecond).
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
      )
    },

    /** Longer hold on a claim; false when the claim is no longer the caller's. */
    async extendLease(id: string, attempts: number, leaseUntil: Date): Promise<boolean> {
      const result = await claimed(id, attempts)
        .set({ lease_until: leaseUntil.toISOString() })
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },

    /** A claim given back untried (the sender is stopping): due again at once, for anyone. */
    async release(id: string, attempts: number): Promise<void> {
      await claimed(id, attempts)
        .set({ lease_until: null, attempts: attempts - 1 })
        .execute()
    },

    /**
     * Delivered, or given up on: the row (and whatever secret its payload held) is gone. With
     * `attempts`, only while the claim is still the caller's.
     */
    async remove(id: string, attempts?: number): Promise<void> {
      let query = db.deleteFrom('outbox').where('id', '=', id)
      if (attempts !== undefined) query = query.where('attempts', '=', attempts)
      await query.execute()
    },

    /** Not delivered this time: tried again from `attemptAt`, if the claim is still the caller's. */
    async retryAt(id: string, attempts: number, attemptAt: Date, error: string): Promise<void> {
      await claimed(id, attempts)
        .set({ attempt_at: attemptAt.toISOString(), lease_until: null, last_error: error })
        .execute()
    },

    stats,
  }
}

export type OutboxRepository = ReturnType<typeof outboxRepository>
