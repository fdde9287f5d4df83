import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import type { Db } from '../db/schema.ts'
import type { Event, EventType, RecordEvent, RecordEvents } from './catalogue.ts'
import { runInContext } from './context.ts'
import {
  EVENTS_CHANNEL,
  eventRecorder,
  eventsRecorder,
  type Follower,
  withFollowers,
} from './record.ts'
import { eventRepository } from './repository.ts'

/**
 * Where events go after the trail: each sink adds its own outbox rows (its own channels, its
 * own retries) for an event, in one transaction with the removal of the event's fan-out row.
 */
export type Sink = (trx: Db, event: Event) => Promise<void>

export interface Events {
  /** Records an event inside the transaction of its change. */
  record: RecordEvent
  /** Records many inside the transaction of a bulk change (an import). */
  recordMany: RecordEvents
  /**
   * Runs `follower` in the transaction of every event of `type` recorded through `record` (not
   * `recordMany`: imports end nothing); before the app is ready.
   */
  follow(type: EventType, follower: Follower): void
  /** Adds a sink (webhooks, NATS); before the app is ready. */
  sink(name: string, fanOut: Sink): void
  /** Deletes events older than the retention; how many (the background job calls it hourly). */
  prune(): Promise<number>
  /**
   * Lets readiness watch a sink: `oldest` tells since when its oldest undelivered message waits
   * (undefined: none waits).
   */
  watch(name: SinkName, oldest: () => Promise<Date | undefined>): void
  /** Each watched sink: degraded when its oldest undelivered message is over 5 minutes old. */
  readiness(): Promise<Partial<Record<SinkName, 'ok' | 'degraded'>>>
}

export const SINK_NAMES = ['webhooks', 'nats'] as const
export type SinkName = (typeof SINK_NAMES)[number]

/** A sink whose oldest waiting message is older than this is late: readiness says degraded. */
export const LATE_AFTER_MS = 5 * 60_000

declare module 'fastify' {
  interface FastifyInstance {
    events: Events
  }
}

const PRUNE_EVERY_MS = 3600_000
// A fan-out takes milliseconds: after a crash, what its instance had claimed moves on to the
// sinks within 15 s, not the outbox's default 2 minutes. It never gives up (a sink's table away).
// Its log line per event is debug: the sinks' deliveries are the ones an operator reads.
const FAN_OUT = {
  leaseMs: 15_000,
  retryForMs: Number.POSITIVE_INFINITY,
  batch: 50,
  deliveredLevel: 'debug',
} as const
const PRUNE_BATCH = 1000

/** The audit trail and the fan-out of its events to the sinks, through the outbox. */
export default fp(
  async (app) => {
    const { db } = app.store
    const sinks = new Map<string, Sink>()
    const watched = new Map<SinkName, () => Promise<Date | undefined>>()
    const fannedOut = new Counter({
      name: 'usersvc_events_total',
      help: 'Security events recorded (counted once committed, by the instance that fans them out)',
      labelNames: ['type'] as const,
      registers: [app.metrics.registry],
    })

    // Every event a request causes says from where, and by whom once Bearer authentication has
    // found the caller (context.ts). Set just before the handler: a context entered earlier would
    // be lost while the body is read (stream callbacks run in the socket's async context).
    app.addHook('preHandler', (request, _reply, done) => {
      const userAgent = request.headers['user-agent']
      runInContext(
        {
          address: request.ip,
          userAgent: typeof userAgent === 'string' ? userAgent : null,
          caller: () => request.authenticatedUser,
        },
        done,
      )
    })

    const retentionMs = app.config.events.auditRetentionDays * 86_400_000
    async function prune(): Promise<number> {
      const before = new Date(app.clock.now().getTime() - retentionMs)
      let total = 0
      for (;;) {
        const removed = await eventRepository(db).prune(before, PRUNE_BATCH)
        total += removed
        if (removed < PRUNE_BATCH) return total
      }
    }

    const followers = new Map<EventType, Follower[]>()
    app.decorate<Events>('events', {
      record: withFollowers(
        eventRecorder(app.outbox.record, () => app.clock.now()),
        followers,
      ),
      follow(type, follower) {
        followers.set(type, [...(followers.get(type) ?? []), follower])
      },
      recordMany: eventsRecorder(app.outbox.recordMany, () => app.clock.now()),
      sink(name, fanOut) {
        if (sinks.has(name)) throw new Error(`event sink ${name} exists already`)
        sinks.set(name, fanOut)
      },
      prune,
      watch(name, oldest) {
        watched.set(name, oldest)
      },
      async readiness() {
        const now = app.clock.now().getTime()
        const states: Partial<Record<SinkName, 'ok' | 'degraded'>> = {}
        for (const [name, oldest] of watched) {
          const since = await oldest()
          states[name] = since && now - since.getTime() > LATE_AFTER_MS ? 'degraded' : 'ok'
        }
        return states
      },
    })

    // Each event once into every sink: the sinks' rows and the removal of the fan-out row commit
    // together, so a crash between them cannot fan an event out twice.
    app.outbox.consume(
      EVENTS_CHANNEL,
      async (message) => {
        const event = message.payload as Event
        const fanned = await db.transaction().execute(async (trx) => {
          const still = await trx
            .deleteFrom('outbox')
            .where('id', '=', message.id)
            .where('attempts', '=', message.attempts)
            .executeTakeFirst()
          // Our claim ran out and another instance took it over: that one fans it out.
          if (Number(still.numDeletedRows) !== 1) return false
          for (const fanOut of sinks.values()) await fanOut(trx, event)
          return true
        })
        if (fanned) fannedOut.inc({ type: event.type })
      },
      FAN_OUT,
    )

    const timer = setInterval(() => {
      prune()
        .then((removed) => {
          if (removed > 0) app.log.info({ removed }, 'pruned events past their retention')
        })
        .catch((error: unknown) => app.log.warn({ err: error }, 'pruning events failed'))
    }, PRUNE_EVERY_MS).unref()
    app.addHook('onClose', async () => clearInterval(timer))
  },
  { name: 'events', dependencies: ['core', 'store', 'outbox', 'metrics'] },
)
