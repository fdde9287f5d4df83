import fp from 'fastify-plugin'
import { createFactorService, type FactorService } from './factor-service.ts'
import { createRecoveryCodeCheck, type RecoveryCodeCheck } from './recovery-code-check.ts'
import { createRecoveryCodeService, type RecoveryCodeService } from './recovery-code-service.ts'
import { recoveryCodeStore } from './recovery-codes.ts'
import { createTotpService, type TotpService } from './totp-service.ts'

const PRUNE_EVERY_MS = 60 * 60 * 1000

declare module 'fastify' {
  interface FastifyInstance {
    /** The caller's own set: make a new one, count what is left. */
    recoveryCodes: RecoveryCodeService
    /** "Is this a saved recovery code of that account?": for recovery, and as a second factor. */
    recoveryCodeCheck: RecoveryCodeCheck
    /** TOTP: enrol, confirm, and check a code at login (`verify`). */
    totp: TotpService
    /** Every kind of factor: list the caller's, remove one, an admin's reset. */
    factors: FactorService
  }
}

export default fp(
  async (app) => {
    const { db } = app.store
    const store = recoveryCodeStore(app.hasher)
    // The one password check, by the caller's id: factors/ never imports authn/, which will ask
    // factors/ for second factors.
    const confirmPassword = (id: string, password: string, address: string) =>
      app.passwordCheck.check({ id }, password, address)
    app.decorate(
      'recoveryCodes',
      createRecoveryCodeService({
        db,
        clock: app.clock,
        store,
        record: app.outbox.record,
        events: app.events.record,
        confirm: confirmPassword,
      }),
    )
    app.decorate(
      'recoveryCodeCheck',
      createRecoveryCodeCheck({ db, hasher: app.hasher, throttle: app.throttle, store }),
    )
    const totp = createTotpService({
      db,
      clock: app.clock,
      sealer: app.sealer,
      throttle: app.throttle,
      record: app.outbox.record,
      events: app.events.record,
      issuer: app.config.tokens.issuer,
      confirmPassword,
    })
    app.decorate('totp', totp)
    app.decorate(
      'factors',
      createFactorService({
        db,
        clock: app.clock,
        record: app.outbox.record,
        events: app.events.record,
        recoveryCodesRemaining: async (userId) => (await store.status(db, userId)).remaining,
        confirmPassword,
      }),
    )

    const prune = async () => {
      try {
        const removed = await totp.prunePending()
        if (removed > 0) app.log.info({ removed }, 'pruned pending TOTP factors')
      } catch (error) {
        app.log.warn({ err: error }, 'pruning pending TOTP factors failed')
      }
    }
    const timer = setInterval(prune, PRUNE_EVERY_MS).unref()
    app.addHook('onClose', async () => clearInterval(timer))
  },
  {
    name: 'factors',
    dependencies: ['core', 'store', 'outbox', 'events', 'passwords', 'throttle', 'tokens', 'authn'],
  },
)
