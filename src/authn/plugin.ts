import fp from 'fastify-plugin'
import { type AccountService, createAccountService } from './accounts.ts'
import { type CredentialService, createCredentialService } from './credentials.ts'
import { createEmailChange, type EmailChange } from './email.ts'
import { createLoginFlow, type LoginFlow } from './login.ts'
import { createPasswordCheck, type PasswordCheck } from './password.ts'
import { createSecondStep, type SecondStepFlow } from './second-step.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The one password check (login and every re-authentication). */
    passwordCheck: PasswordCheck
    logins: LoginFlow
    secondStep: SecondStepFlow
    credentials: CredentialService
    /** What admins do to other accounts: delete, disable, enable. */
    accounts: AccountService
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
    const secondStep = createSecondStep({
      db: app.store.db,
      clock: app.clock,
      sessions: app.sessions,
      throttle: app.throttle,
      record: app.outbox.record,
      events: app.events.record,
      // factors/ and passkeys/ come later (they confirm passwords through this plugin); asked
      // for when a login needs them.
      factors: () => ({
        totp: app.totp,
        passkeys: app.passkeys,
        recoveryCodes: app.recoveryCodeCheck,
        recoveryCodesLeft: async (userId) =>
          (await app.recoveryCodes.status({ id: userId })).remaining,
      }),
    })
    app.decorate('secondStep', secondStep)
    app.decorate(
      'logins',
      createLoginFlow({
        db: app.store.db,
        events: app.events.record,
        passwords,
        sessions: app.sessions,
        throttle: app.throttle,
        secondStep,
      }),
    )
    app.decorate(
      'credentials',
      createCredentialService({
        db: app.store.db,
        clock: app.clock,
        hasher: app.hasher,
        policy: app.passwordPolicy,
        passwords,
        events: app.events.record,
      }),
    )
    app.decorate(
      'accounts',
      createAccountService({ db: app.store.db, clock: app.clock, events: app.events.record }),
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
          events: app.events.record,
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
      'events',
      'one-time-codes',
    ],
  },
)
