import fp from 'fastify-plugin'
import type { JetStreamClient } from 'nats'
import { Counter, Gauge } from 'prom-client'
import { channelMetrics } from '../outbox/metrics.ts'
import { type NatsLink, natsLink } from './link.ts'
import { describeEvent, natsPublisher } from './publisher.ts'

/** The outbox channel of events on their way to JetStream. */
export const NATS_CHANNEL = 'nats'

// Publishes take milliseconds and time out after 5 s: a short lease (extended by the worker
// when half gone) lets a crashed instance's rows go out again soon, well inside the stream's
// duplicate window, so JetStream drops the copies.
const LEASE_MS = 15_000

/**
 * Every event, also published to NATS JetStream (when NATS_URL is set): the events fan-out
 * adds a row on channel `nats` per event; its sender runs only while connected, and publishes
 * with the event id as Nats-Msg-Id. NATS away: rows wait (readiness, metrics), nothing is lost.
 */
export default fp(
  async (app) => {
    const { natsUrl, natsStream, natsSubjectPrefix } = app.config.events
    if (!natsUrl) return
    const stats = () => app.outbox.stats(NATS_CHANNEL)
    const onOutcome = channelMetrics({
      registry: app.metrics.registry,
      prefix: 'usersvc_nats',
      noun: 'Events',
      stats,
      now: () => app.clock.now(),
    })
    const connected = new Gauge({
      name: 'usersvc_nats_connected',
      help: '1 while this instance is connected to NATS with the stream in place, else 0',
      registers: [app.metrics.registry],
    })
    connected.set(0)
    const duplicates = new Counter({
      name: 'usersvc_nats_duplicates_total',
      help: 'Events published again that the stream had already (dropped by Nats-Msg-Id): after a crash or a lost ack',
      registers: [app.metrics.registry],
    })

    app.events.sink(NATS_CHANNEL, (trx, event) => app.outbox.record(trx, NATS_CHANNEL, event))
    app.events.watch(NATS_CHANNEL, async () => (await stats()).oldest)

    let client: JetStreamClient | undefined
    let link: NatsLink | undefined
    let closing = false
    const deliver = natsPublisher({
      stream: natsStream,
      subjectPrefix: natsSubjectPrefix,
      client: () => client,
      now: () => app.clock.now(),
      noResponders: () => link?.recheck(),
      duplicate(message) {
        duplicates.inc()
        app.log.info(
          { channel: NATS_CHANNEL, id: message.id, ...describeEvent(message) },
          'nats: already in the stream',
        )
      },
    })

    // Connected only once the app is ready (a failed start opens nothing), and in the
    // background: start-up and requests never wait for NATS.
    app.addHook('onReady', async () => {
      link = natsLink({
        url: natsUrl,
        stream: { name: natsStream, subjects: `${natsSubjectPrefix}.>` },
        log: app.log,
        // The sender runs only while NATS can take events: while it is away, rows wait untouched
        // (no retries piling up), and all go out as soon as it is back.
        up(js) {
          client = js
          connected.set(1)
          if (closing) return
          app.outbox.consume(NATS_CHANNEL, deliver, {
            onOutcome,
            describe: describeEvent,
            retryForMs: Number.POSITIVE_INFINITY,
            leaseMs: LEASE_MS,
          })
        },
        down() {
          client = undefined
          connected.set(0)
          void app.outbox.stop(NATS_CHANNEL)
        },
      })
    })
    app.addHook('preClose', async () => {
      closing = true
      await app.outbox.stop(NATS_CHANNEL)
      await link?.close()
    })
  },
  { name: 'nats', dependencies: ['core', 'metrics', 'outbox', 'events'] },
)
