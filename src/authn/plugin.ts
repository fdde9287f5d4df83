import fp from 'fastify-plugin'
import { type CredentialService, createCredentialService } from './credentials.ts'
import { createLoginFlow, type LoginFlow } from './login.ts'
import { createPasswordCheck, type PasswordCheck } from './password.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The one password check (login and every re-authentication). */
    passwordCheck: PasswordCheck
    logins: LoginFlow
    credentials: CredentialService
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
  },
  { name: 'authn', dependencies: ['core', 'store', 'passwords', 'throttle', 'sessions'] },
)
