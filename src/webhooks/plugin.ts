import fp from 'fastify-plugin'
import { channelMetrics } from '../outbox/metrics.ts'
import type { OutboxMessage } from '../outbox/repository.ts'
import { queueStats } from './deliveries.ts'
import { type DeliveryMessage, TIMEOUT_MS, webhookSender } from './delivery.ts'
import { webhookSink } from './fanout.ts'
import { channelOf, webhookRepository } from './repository.ts'
import { createWebhookService, type WebhookService } from './service.ts'
import { createSupervisor } from './supervisor.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Webhook endpoints: the admin API's service. */
    webhooks: WebhookService
  }
}

// The retry schedule (WEBHOOK_RETRY_SCHEDULE) decides when a delivery fails; the outbox's own
// window only bounds retries after errors of ours (the database away), well beyond it.
const OUTBOX_WINDOW_MS = 7 * 86_400_000
// A claim outlives a try (TIMEOUT_MS) with room to spare, and the outbox extends it between tries
// past half of it; shorter than the outbox's default, so a delivery in flight when its instance
// died is tried again (by any instance) within half a minute.
const LEASE_MS = 3 * TIMEOUT_MS

/** What a log line may say of a delivery: ids and the type, never the URL or the body. */
function describe(webhookId: string) {
  return (message: OutboxMessage) => {
    const { delivery_id, event } = message.payload as DeliveryMessage
    return { webhook: webhookId, delivery: delivery_id, event: event.id, type: event.type }
  }
}

/**
 * Webhooks (Standard Webhooks) from the transactional outbox: a sink that turns each event into
 * deliveries, and one sender per endpoint on every instance, so a slow or failing endpoint
 * delays no other.
 */
export default fp(
  async (app) => {
    const { db } = app.store
    const { allowHttp, retryScheduleMs } = app.config.events.webhooks
    const now = () => app.clock.now()
    const stats = () => queueStats(db)
    const onOutcome = channelMetrics({
      registry: app.metrics.registry,
      prefix: 'usersvc_webhook_deliveries',
      noun: 'Webhook deliveries',
      stats,
      now,
    })
    const deliver = webhookSender({
      db,
      clock: app.clock,
      sealer: app.sealer,
      retryScheduleMs,
      gone: (id) => void supervisor.stop(id),
    })
    const supervisor = createSupervisor({
      list: async () => (await webhookRepository(db).enabled()).map((hook) => hook.id),
      start: (id) =>
        app.outbox.consume(channelOf(id), (message) => deliver(id, message), {
          onOutcome,
          describe: describe(id),
          retryForMs: OUTBOX_WINDOW_MS,
          leaseMs: LEASE_MS,
        }),
      stop: (id) => app.outbox.stop(channelOf(id)),
      log: app.log,
    })

    app.events.sink('webhooks', webhookSink(app.outbox.record, now))
    app.events.watch('webhooks', async () => (await stats()).oldest)
    app.decorate(
      'webhooks',
      createWebhookService({
        db,
        clock: app.clock,
        sealer: app.sealer,
        allowHttp,
        record: app.outbox.record,
        started: (id) => supervisor.start(id),
        // Not awaited: a delivery in flight may take up to its timeout to end.
        stopped: (id) => void supervisor.stop(id),
      }),
    )
    app.addHook('onReady', async () => supervisor.run())
    // After the outbox has stopped its senders: stops polling, and any sender started meanwhile.
    app.addHook('preClose', async () => supervisor.close())
  },
  { name: 'webhooks', dependencies: ['core', 'store', 'outbox', 'events', 'metrics', 'tokens'] },
)
