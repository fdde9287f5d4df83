import fp from 'fastify-plugin'
import { createPasskeyService, type PasskeyService } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Passkeys (WebAuthn Level 3): registration options and registration; assertions. */
    passkeys: PasskeyService
  }
}

export default fp(
  async (app) => {
    app.decorate(
      'passkeys',
      createPasskeyService({
        db: app.store.db,
        clock: app.clock,
        config: app.config.webauthn,
        record: app.outbox.record,
        events: app.events.record,
      }),
    )
  },
  {
    name: 'passkeys',
    dependencies: ['core', 'store', 'outbox', 'events', 'authn'],
  },
)
