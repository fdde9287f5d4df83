import { v7 as uuidv7 } from 'uuid'
import type { Clock } from '../clock.ts'
import { type Db, toDate } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { Event, EventType } from '../events/catalogue.ts'
import type { Record } from '../outbox/record.ts'
import { isUuid } from '../text.ts'
import type { Sealer } from '../tokens/sealing.ts'
import { deliveryRepository, dueNow } from './deliveries.ts'
import { deliveryMessage } from './delivery.ts'
import { channelOf, type Webhook, type WebhookChanges, webhookRepository } from './repository.ts'
import type { DeliveryBody, DeliveryStatus } from './schemas.ts'
import { newSecret, sealSecret } from './secrets.ts'
import { checkUrl } from './urls.ts'

/** How long a rotated-out secret keeps signing beside the new one. */
export const PREVIOUS_SECRET_MS = 24 * 3600_000

export interface WebhookServiceOptions {
  db: Db
  clock: Clock
  sealer: Sealer
  allowHttp: boolean
  record: Record
  /** This instance starts (or stops) the endpoint's sender at once; others notice by polling. */
  started?(id: string): void
  stopped?(id: string): void
}

export interface NewWebhook {
  url: string
  types?: EventType[] | null
  description?: string | null
}

const noSuchWebhook = () => new AppError('not_found', { detail: 'No such webhook.' })
const noSuchDelivery = () => new AppError('not_found', { detail: 'No such delivery.' })

/** The trail's copy of an event, to deliver it again. */
async function eventById(db: Db, id: string): Promise<Event | undefined> {
  const row = await db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst()
  if (!row) return undefined
  return {
    id: row.id,
    type: row.type as EventType,
    occurred_at: toDate(row.occurred_at).toISOString(),
    actor: { type: row.actor_type as Event['actor']['type'], id: row.actor_id },
    subject: row.subject_user_id ? { user_id: row.subject_user_id } : null,
    address: row.address,
    user_agent: row.user_agent,
    data: JSON.parse(row.data) as Event['data'],
  }
}

/** Webhook endpoints for admins: add, change, remove, rotate secrets, look at and retry deliveries. */
export function createWebhookService(options: WebhookServiceOptions) {
  const { db, clock, sealer, allowHttp, record } = options
  const hooks = webhookRepository(db)

  async function find(id: string): Promise<Webhook> {
    const hook = isUuid(id) ? await hooks.find(id.toLowerCase()) : undefined
    if (!hook) throw noSuchWebhook()
    return hook
  }

  return {
    /** The secret is returned here and by rotate only: it is stored sealed. */
    async create(input: NewWebhook): Promise<{ webhook: Webhook; secret: string }> {
      const url = checkUrl(input.url, allowHttp)
      const id = uuidv7()
      const secret = newSecret()
      const webhook = await hooks.insert({
        id,
        url,
        description: input.description ?? null,
        types: input.types ?? null,
        secret: await sealSecret(sealer, id, secret),
        now: clock.now(),
      })
      options.started?.(id)
      return { webhook, secret }
    },

    find,

    async list(after: string | undefined, limit: number) {
      return hooks.list(after, limit)
    },

    async update(id: string, changes: WebhookChanges): Promise<Webhook> {
      const found = await find(id)
      if (changes.url !== undefined) checkUrl(changes.url, allowHttp)
      const webhook = await hooks.update(found.id, changes, clock.now())
      if (!webhook) throw noSuchWebhook()
      if (changes.enabled === true) options.started?.(webhook.id)
      if (changes.enabled === false) options.stopped?.(webhook.id)
      return webhook
    },

    async remove(id: string): Promise<void> {
      const found = await find(id)
      const removed = await db
        .transaction()
        .execute((trx) => webhookRepository(trx).remove(found.id))
      if (!removed) throw noSuchWebhook()
      options.stopped?.(found.id)
    },

    async rotate(id: string): Promise<{ webhook: Webhook; secret: string }> {
      const found = await find(id)
      const secret = newSecret()
      const now = clock.now()
      const webhook = await hooks.rotate(
        found.id,
        await sealSecret(sealer, found.id, secret),
        found.secret,
        new Date(now.getTime() + PREVIOUS_SECRET_MS),
        now,
      )
      if (!webhook) throw noSuchWebhook()
      return { webhook, secret }
    },

    async deliveries(
      id: string,
      status: DeliveryStatus | undefined,
      after: string | undefined,
      limit: number,
    ): Promise<DeliveryBody[]> {
      const webhook = await find(id)
      return deliveryRepository(db).page(webhook.id, status, after, limit)
    },

    /**
     * Tries a delivery again at once: a failed one on a fresh retry schedule, a pending one now
     * rather than at its next time (its schedule goes on), and a delivered one too (the receiver
     * lost it; the webhook-id is the same, so a receiver that keeps ids takes it once).
     */
    async retry(id: string, deliveryId: string): Promise<DeliveryBody> {
      const webhook = await find(id)
      const deliveries = deliveryRepository(db)
      const delivery = isUuid(deliveryId)
        ? await deliveries.find(deliveryId.toLowerCase())
        : undefined
      if (!delivery || delivery.webhook_id !== webhook.id) throw noSuchDelivery()
      const now = clock.now()
      const channel = channelOf(webhook.id)
      if (delivery.status === 'pending') {
        await dueNow(db, channel, delivery.id, now)
      } else {
        const event = await eventById(db, delivery.event_id)
        if (!event) {
          throw new AppError('not_found', {
            detail: 'The event is no longer in the audit trail (past its retention).',
          })
        }
        await db.transaction().execute(async (trx) => {
          await deliveryRepository(trx).requeue(delivery.id, now)
          await record(trx, channel, deliveryMessage(delivery.id, event, delivery.attempts))
        })
      }
      return (await deliveries.find(delivery.id)) ?? delivery
    },
  }
}

export type WebhookService = ReturnType<typeof createWebhookService>
