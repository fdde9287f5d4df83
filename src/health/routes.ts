import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import Type from 'typebox'
import { problems } from '../schemas.ts'

const Status = Type.Object({ status: Type.Literal('ok') })
const Readiness = Type.Object({
  // degraded: serving, but Redis is away (throttling limits are held per instance), or mail is late.
  status: Type.Enum(['ok', 'degraded', 'unavailable']),
  checks: Type.Object({
    database: Type.Enum(['ok', 'down']),
    // down: the current signing key does not open with SIGNING_KEY_SECRET (no logins here).
    signing_key: Type.Enum(['ok', 'down']),
    redis: Type.Optional(Type.Enum(['ok', 'down'])),
    // Checked when the database is ok. degraded: the oldest unsent mail is over 5 minutes old
    // (the mail server is away or refusing); mail is queued meanwhile, and goes out when it is back.
    mail: Type.Optional(Type.Enum(['ok', 'degraded'])),
    // Each configured event sink, likewise: degraded when its oldest undelivered event is over
    // 5 minutes old (an endpoint or NATS away); events wait in the outbox meanwhile.
    webhooks: Type.Optional(Type.Enum(['ok', 'degraded'])),
    nats: Type.Optional(Type.Enum(['ok', 'degraded'])),
  }),
})

const DATABASE_CHECK_MS = 2000

/** `check`'s answer, or a rejection once DATABASE_CHECK_MS have passed: readiness never hangs. */
function inTime<T>(check: Promise<T>): Promise<T> {
  return Promise.race([
    check,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('timeout')), DATABASE_CHECK_MS).unref(),
    ),
  ])
}

/** The mail queue's state; undefined when the database would not say in time. */
async function mailCheck(
  app: FastifyInstance,
  log: FastifyBaseLogger,
): Promise<'ok' | 'degraded' | undefined> {
  try {
    const state = await inTime(app.mail.readiness())
    if (state === 'degraded') log.warn('readiness: mail older than 5 minutes is still unsent')
    return state
  } catch (error) {
    log.warn({ err: error }, 'readiness: mail check failed')
    return undefined
  }
}

/** The event sinks' states; empty when the database would not say in time. */
async function sinkChecks(app: FastifyInstance, log: FastifyBaseLogger) {
  try {
    const states = await inTime(app.events.readiness())
    for (const [sink, state] of Object.entries(states)) {
      if (state === 'degraded')
        log.warn({ sink }, 'readiness: events older than 5 minutes are still undelivered')
    }
    return states
  } catch (error) {
    log.warn({ err: error }, 'readiness: event sink check failed')
    return {}
  }
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health/live',
    { schema: { summary: 'Liveness', tags: ['health'], response: { 200: Status, ...problems() } } },
    async () => ({
      status: 'ok' as const,
    }),
  )

  app.get(
    '/health/ready',
    {
      schema: {
        summary:
          'Readiness: the database, the signing key, Redis when configured, mail and the event sinks',
        tags: ['health'],
        response: { ...problems(), 200: Readiness, 503: Readiness },
      },
    },
    async (request, reply) => {
      let database: 'ok' | 'down' = 'ok'
      try {
        // The store answers, and can take writes: a probe write when the last is a second old.
        const fault = await inTime(
          sql`select 1`.execute(app.store.db).then(() => app.storeGuard.check(true)),
        )
        if (fault) {
          request.log.warn({ reason: fault }, 'readiness: the database cannot take writes')
          database = 'down'
        }
      } catch (error) {
        request.log.warn({ err: error }, 'readiness: database check failed')
        database = 'down'
      }
      const signingKey = app.keys.canSign() ? 'ok' : 'down'
      if (signingKey === 'down') {
        request.log.error('readiness: the signing key does not open with SIGNING_KEY_SECRET')
      }
      const shared = await app.sharedState.status()
      const mail = database === 'ok' ? await mailCheck(app, request.log) : undefined
      const sinks = database === 'ok' ? await sinkChecks(app, request.log) : {}
      const checks = {
        database,
        signing_key: signingKey,
        ...(shared === 'not_configured' ? {} : { redis: shared }),
        ...(mail ? { mail } : {}),
        ...sinks,
      } as const
      // Without the database, or a key to sign with, logins fail here: out of rotation. Without
      // Redis, or with mail late, it still serves correctly: it stays in, "degraded".
      const down = database === 'down' || signingKey === 'down'
      const degraded =
        shared === 'down' || mail === 'degraded' || Object.values(sinks).includes('degraded')
      const status = down ? 'unavailable' : degraded ? 'degraded' : 'ok'
      return reply.code(down ? 503 : 200).send({ status, checks })
    },
  )
}

export default routes
