import fp from 'fastify-plugin'
import { createRecoveryCompletion, type RecoveryCompletion } from './complete.ts'
import { createRecoveryRequests, RECOVERY_CHANNEL, type RecoveryRequests } from './requests.ts'
import { recoveryWorker } from './worker.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** POST /recovery/: a request in the outbox, the same whoever is named. */
    recoveryRequests: RecoveryRequests
    /** POST /recovery/complete: the mailed code and a new password. */
    recoveryCompletion: RecoveryCompletion
  }
}

/** Recovery by emailed code: requests, the worker that mails the codes, and completion. */
export default fp(
  async (app) => {
    const { db } = app.store
    const { record } = app.outbox
    app.decorate('recoveryRequests', createRecoveryRequests({ db, record, throttle: app.throttle }))
    app.decorate(
      'recoveryCompletion',
      createRecoveryCompletion({
        db,
        clock: app.clock,
        codes: app.oneTimeCodes,
        record,
        events: app.events.record,
        hasher: app.hasher,
        policy: app.passwordPolicy,
        throttle: app.throttle,
      }),
    )
    app.outbox.consume(
      RECOVERY_CHANNEL,
      recoveryWorker({
        db,
        clock: app.clock,
        codes: app.oneTimeCodes,
        record,
        events: app.events.record,
        ttlSeconds: app.config.recovery.recoveryCodeTtlSeconds,
        log: app.log,
      }),
    )
  },
  {
    name: 'recovery',
    dependencies: ['core', 'store', 'outbox', 'events', 'one-time-codes', 'passwords', 'throttle'],
  },
)
