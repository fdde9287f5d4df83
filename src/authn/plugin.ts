import fp from 'fastify-plugin'
import { type CredentialService, createCredentialService } from './credentials.ts'
import { createEmailChange, type EmailChange } from './email.ts'
import { createLoginFlow, type LoginFlow } from './login.ts'
import { createPasswordCheck, type PasswordCheck } from './password.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The one password check (login and every re-authentication). */
    passwordCheck: PasswordCheck
    logins: LoginFlow
    credentials: CredentialService
    emailChange: EmailChange
  }
}

export default fp(
  async (app) => {
    const passwords = createPasswordCheck({
      db: app.store.db,
      hasher: app.hasher,
      throttle: app.throttle,
    })
    app.decorate('passwordCheck', passwords)
    app.decorate(
      'logins',
      createLoginFlow({ passwords, sessions: app.sessions, throttle: app.throttle }),
    )
    app.decorate(
      'credentials',
      createCredentialService({
        db: app.store.db,
        clock: app.clock,
        hasher: app.hasher,
        policy: app.passwordPolicy,
        passwords,
      }),
    )
    app.decorate(
      'emailChange',
      createEmailChange({
        db: app.store.db,
        clock: app.clock,
        passwords,
        email: {
          codes: app.oneTimeCodes,
          record: app.outbox.record,
          codeTtlSeconds: app.config.recovery.emailCodeTtlSeconds,
          required: app.config.recovery.emailRequired,
        },
      }),
    )
  },
  {
    name: 'authn',
    dependencies: [
      'core',
      'store',
      'passwords',
      'throttle',
      'sessions',
      'outbox',
      'one-time-codes',
    ],
  },
)
