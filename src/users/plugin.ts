import fp from 'fastify-plugin'
import { createEmailVerification, type EmailVerification } from './email-verification.ts'
import { createUserService, type UserService } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    users: UserService
    /** Proving the caller's address: the code mailed to it, or another one. */
    emailVerification: EmailVerification
  }
}

export default fp(
  async (app) => {
    const email = {
      codes: app.oneTimeCodes,
      record: app.outbox.record,
      events: app.events.record,
      codeTtlSeconds: app.config.recovery.emailCodeTtlSeconds,
      required: app.config.recovery.emailRequired,
    }
    app.decorate(
      'users',
      createUserService({
        db: app.store.db,
        clock: app.clock,
        hasher: app.hasher,
        policy: app.passwordPolicy,
        throttle: app.throttle,
        email,
      }),
    )
    app.decorate('emailVerification', createEmailVerification(app.store.db, app.clock, email))
  },
  {
    name: 'users',
    dependencies: ['core', 'store', 'passwords', 'throttle', 'outbox', 'events', 'one-time-codes'],
  },
)
