import { type Selectable, sql } from 'kysely'
import { type Db, toDate, type WebhookDeliveriesTable } from '../db/schema.ts'
import type { EventType } from '../events/catalogue.ts'
import type { ChannelStats } from '../outbox/repository.ts'
import type { Attempt, DeliveryBody, DeliveryStatus } from './schemas.ts'

/** The attempt log keeps this many of the latest tries. */
export const ATTEMPT_LOG_SIZE = 10

const iso = (value: Date | string | null) => (value === null ? null : toDate(value).toISOString())

function toDelivery(row: Selectable<WebhookDeliveriesTable>): DeliveryBody {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    event_id: row.event_id,
    event_type: row.event_type as EventType,
    status: row.status,
    attempts: row.attempts,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    last_attempt_at: iso(row.last_attempt_at),
    next_attempt_at: iso(row.next_attempt_at),
    delivered_at: iso(row.delivered_at),
    created_at: toDate(row.created_at).toISOString(),
    attempt_log: JSON.parse(row.attempt_log) as Attempt[],
  }
}

/** What one try changed: the outcome, and when the next is (if any). */
export interface TryResult {
  status: DeliveryStatus
  attempt: Attempt
  nextAttemptAt: Date | null
}

/** The webhook_deliveries table. Works on a Kysely instance or a transaction. */
export function deliveryRepository(db: Db) {
  const one = (id: string) =>
    db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst()

  return {
    /** False when the event has a delivery to that endpoint already (a fan-out run twice). */
    async insert(row: {
      id: string
      webhookId: string
      eventId: string
      eventType: string
      now: Date
    }): Promise<boolean> {
      const result = await db
        .insertInto('webhook_deliveries')
        .values({
          id: row.id,
          webhook_id: row.webhookId,
          event_id: row.eventId,
          event_type: row.eventType,
          status: 'pending',
          attempts: 0,
          last_status_code: null,
          last_error: null,
          last_attempt_at: null,
          next_attempt_at: null,
          attempt_log: '[]',
          created_at: row.now.toISOString(),
          delivered_at: null,
        })
        .onConflict((oc) => oc.columns(['webhook_id', 'event_id']).doNothing())
        // No row back on a conflict, on both dialects.
        .returning('id')
        .executeTakeFirst()
      return result !== undefined
    },

    async find(id: string): Promise<DeliveryBody | undefined> {
      const row = await one(id)
      return row && toDelivery(row)
    },

    /** Newest first (UUIDv7 ids: by creation), after `after`. */
    async page(
      webhookId: string,
      status: DeliveryStatus | undefined,
      after: string | undefined,
      limit: number,
    ): Promise<DeliveryBody[]> {
      let query = db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('webhook_id', '=', webhookId)
        .orderBy('id', 'desc')
        .limit(limit)
      if (status) query = query.where('status', '=', status)
      if (after) query = query.where('id', '<', after)
      return (await query.execute()).map(toDelivery)
    },

    /** Records one try on the row; the log keeps the latest ATTEMPT_LOG_SIZE. */
    async recordTry(delivery: DeliveryBody, result: TryResult): Promise<void> {
      const log = [...delivery.attempt_log, result.attempt].slice(-ATTEMPT_LOG_SIZE)
      await db
        .updateTable('webhook_deliveries')
        .set({
          status: result.status,
          attempts: delivery.attempts + 1,
          last_status_code: result.attempt.status_code,
          last_error: result.attempt.error,
          last_attempt_at: result.attempt.at,
          next_attempt_at: result.nextAttemptAt?.toISOString() ?? null,
          attempt_log: JSON.stringify(log),
          ...(result.status === 'delivered' ? { delivered_at: result.attempt.at } : {}),
        })
        .where('id', '=', delivery.id)
        .execute()
    },

    /** An endpoint gone for good: whatever still waits for it will not be delivered. */
    async failPending(webhookId: string): Promise<void> {
      await db
        .updateTable('webhook_deliveries')
        .set({ status: 'failed', next_attempt_at: null })
        .where('webhook_id', '=', webhookId)
        .where('status', '=', 'pending')
        .execute()
    },

    /** Pending again, due `now`. */
    async requeue(id: string, now: Date): Promise<void> {
      await db
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', next_attempt_at: now.toISOString(), delivered_at: null })
        .where('id', '=', id)
        .execute()
    },
  }
}

/**
 * What waits in the outbox for the enabled endpoints (a paused one is an admin's choice, not an
 * outage): for the metrics and readiness, one query.
 */
export async function queueStats(db: Db): Promise<ChannelStats> {
  const channels = db
    .selectFrom('webhooks')
    .select(sql<string>`'webhook:' || id`.as('channel'))
    .where('enabled', '=', 1)
  const row = await db
    .selectFrom('outbox')
    .select((eb) => [
      eb.fn.countAll<string | number>().as('n'),
      eb.fn.min('created_at').as('oldest'),
    ])
    .where('channel', 'in', channels)
    .executeTakeFirstOrThrow()
  const oldest = row.oldest ? toDate(row.oldest) : undefined
  return { waiting: Number(row.n), ...(oldest ? { oldest } : {}) }
}

/**
 * A pending delivery's outbox row, due now (an admin's retry). Payloads start with the delivery
 * id (delivery.ts writes them so), which is how the row is found without a column of its own.
 */
export async function dueNow(db: Db, channel: string, deliveryId: string, now: Date) {
  await db
    .updateTable('outbox')
    .set({ attempt_at: now.toISOString() })
    .where('channel', '=', channel)
    .where('payload', 'like', `{"delivery_id":"${deliveryId}",%`)
    .execute()
}
