import fp from 'fastify-plugin'
import { createRecoveryCodeCheck, type RecoveryCodeCheck } from './recovery-code-check.ts'
import { createRecoveryCodeService, type RecoveryCodeService } from './recovery-code-service.ts'
import { recoveryCodeStore } from './recovery-codes.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The caller's own set: make a new one, count what is left. */
    recoveryCodes: RecoveryCodeService
    /** "Is this a saved recovery code of that account?": for recovery, and as a second factor. */
    recoveryCodeCheck: RecoveryCodeCheck
  }
}

export default fp(
  async (app) => {
    const { db } = app.store
    const store = recoveryCodeStore(app.hasher)
    app.decorate(
      'recoveryCodes',
      createRecoveryCodeService({
        db,
        clock: app.clock,
        store,
        record: app.outbox.record,
        confirm: (id, password, address) => app.passwordCheck.check({ id }, password, address),
      }),
    )
    app.decorate(
      'recoveryCodeCheck',
      createRecoveryCodeCheck({ db, hasher: app.hasher, throttle: app.throttle, store }),
    )
  },
  {
    name: 'factors',
    dependencies: ['core', 'store', 'outbox', 'passwords', 'throttle', 'authn'],
  },
)
