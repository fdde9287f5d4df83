import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../errors.ts'
import { loginFailed } from '../events/record.ts'
import { counted } from '../metrics/outcomes.ts'
import { BODY_ERRORS, problems } from '../schemas.ts'
import { assertSameOrigin } from '../sessions/cookie.ts'
import { sendTokens } from '../sessions/reply.ts'
import { CookieQuery, tokenResponses } from '../sessions/schemas.ts'
import { userRepository } from '../users/repository.ts'
import { accountDisabled } from '../users/service.ts'
import { PasskeyLoginBody, PasskeyOptionsBody, RequestOptions } from './schemas.ts'

const loginOutcomes = {
  invalid_credentials: 'invalid',
  rate_limited: 'throttled',
  overloaded: 'overloaded',
} as const

const invalidCredentials = () =>
  new AppError('invalid_credentials', { detail: 'The passkey was not accepted.' })

/** Passwordless login with a passkey: options, then the assertion for a token pair. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { refreshTtlSeconds } = app.config.tokens
  const tags = ['sessions']

  app.post(
    '/session/passkey/options',
    {
      schema: {
        summary: 'Options for navigator.credentials.get(): a passwordless login with a passkey',
        description:
          'Any discoverable credential (no allowCredentials), user verification required. The challenge is single-use and lives 5 minutes.',
        tags,
        body: PasskeyOptionsBody,
        response: { 200: RequestOptions, ...problems(...BODY_ERRORS, 'rate_limited') },
      },
    },
    async (request, reply) => {
      // Each answer stores a challenge: within the login rate of the address.
      await app.throttle.loginAttempt(request.ip)
      const options = await app.passkeys.requestOptions({ purpose: 'passkey_login' })
      return reply.header('cache-control', 'no-store').send(options)
    },
  )

  app.post(
    '/session/passkey',
    {
      schema: {
        summary: 'Log in with a passkey: an access token (aal2) and a refresh token',
        description:
          'A passkey with user verification is a multi-factor cryptographic authenticator (NIST SP 800-63B rev 4): the session is AAL2, amr [hwk or swk, mfa]. An unknown credential, a bad signature, a spent challenge or a foreign origin: 401 invalid_credentials.',
        tags,
        querystring: CookieQuery,
        body: PasskeyLoginBody,
        response: tokenResponses,
      },
    },
    async (request, reply) => {
      const cookie = request.query.cookie === true
      if (cookie) assertSameOrigin(request, app.config.allowedOrigins)
      const pair = await counted(app.metrics.logins, 'success', loginOutcomes, async () => {
        await app.throttle.loginAttempt(request.ip)
        const proof = await app.passkeys.verifyAssertion(request.body.credential, {
          purpose: 'passkey_login',
        })
        const { db } = app.store
        if (!proof) {
          await loginFailed(db, app.events.record, undefined, 'invalid_passkey', 'passkey')
          throw invalidCredentials()
        }
        const user = await userRepository(db).findById(proof.userId)
        if (!user) throw invalidCredentials()
        if (user.disabledAt) {
          await loginFailed(db, app.events.record, user.id, 'account_disabled', 'passkey')
          throw accountDisabled()
        }
        // Undefined when the password changed meanwhile (that ends every session).
        const started = await app.sessions.start(
          user,
          { amr: [proof.amr, 'mfa'], aal: 'aal2' },
          { userAgent: request.headers['user-agent'], address: request.ip },
        )
        if (!started) throw invalidCredentials()
        return started
      })
      return sendTokens(reply, pair, cookie ? { maxAgeSeconds: refreshTtlSeconds } : undefined)
    },
  )
}

export default routes
