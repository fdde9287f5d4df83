import { chunks } from '../db/chunks.ts'
import type { Db } from '../db/schema.ts'
import { toDate } from '../db/schema.ts'
import type { Event, EventType } from './catalogue.ts'

export interface TrailFilter {
  userId?: string
  type?: EventType
  /** Strictly after / before these times. */
  after?: Date
  before?: Date
}

/** Where a page ends: the last event's time and id (newest first). */
export interface TrailPosition {
  occurredAt: string
  id: string
}

type Row = {
  id: string
  type: string
  occurred_at: Date | string
  actor_type: string
  actor_id: string | null
  subject_user_id: string | null
  address: string | null
  user_agent: string | null
  data: string
}

function toEvent(row: Row): Event {
  return {
    id: row.id,
    type: row.type as Event['type'],
    occurred_at: toDate(row.occurred_at).toISOString(),
    actor: { type: row.actor_type as Event['actor']['type'], id: row.actor_id },
    subject: row.subject_user_id ? { user_id: row.subject_user_id } : null,
    address: row.address,
    user_agent: row.user_agent,
    data: JSON.parse(row.data) as Record<string, unknown>,
  }
}

const toRow = (event: Event) => ({
  id: event.id,
  type: event.type,
  occurred_at: event.occurred_at,
  actor_type: event.actor.type,
  actor_id: event.actor.id,
  subject_user_id: event.subject?.user_id ?? null,
  address: event.address,
  user_agent: event.user_agent,
  data: JSON.stringify(event.data),
})

/** The audit trail. Works on a Kysely instance or a transaction. */
export function eventRepository(db: Db) {
  return {
    async insert(event: Event): Promise<void> {
      await db.insertInto('events').values(toRow(event)).execute()
    },

    /** Many at once (a bulk change such as an import): multi-row inserts. */
    async insertMany(events: readonly Event[]): Promise<void> {
      for (const chunk of chunks(events)) {
        await db.insertInto('events').values(chunk.map(toRow)).execute()
      }
    },

    /** Newest first, `limit` at most, after `from` (keyset: time, then id). */
    async page(filter: TrailFilter, limit: number, from?: TrailPosition): Promise<Event[]> {
      let query = db.selectFrom('events').selectAll()
      if (filter.userId) query = query.where('subject_user_id', '=', filter.userId)
      if (filter.type) query = query.where('type', '=', filter.type)
      if (filter.after) query = query.where('occurred_at', '>', filter.after.toISOString())
      if (filter.before) query = query.where('occurred_at', '<', filter.before.toISOString())
      if (from) {
        query = query.where((eb) =>
          eb.or([
            eb('occurred_at', '<', from.occurredAt),
            eb.and([eb('occurred_at', '=', from.occurredAt), eb('id', '<', from.id)]),
          ]),
        )
      }
      const rows = await query
        .orderBy('occurred_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute()
      return rows.map(toEvent)
    },

    /** Deletes up to `batch` events older than `before`; how many it deleted. */
    async prune(before: Date, batch: number): Promise<number> {
      const old = db
        .selectFrom('events')
        .select('id')
        .where('occurred_at', '<', before.toISOString())
        .limit(batch)
      const result = await db.deleteFrom('events').where('id', 'in', old).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}
