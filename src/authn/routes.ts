import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { counted } from '../metrics/outcomes.ts'
import { languageOf } from '../outbox/mail.ts'
import { BODY_ERRORS, bearerAuth, NoContent, problems } from '../schemas.ts'
import { assertSameOrigin } from '../sessions/cookie.ts'
import { clientOf, sendTokens } from '../sessions/reply.ts'
import { CookieQuery, tokenResponses } from '../sessions/schemas.ts'
import { UserSchema, userBody } from '../users/schemas.ts'
import {
  ChangeEmailBody,
  ChangePasswordBody,
  DeleteMeBody,
  LoginBody,
  MfaRequired,
} from './schemas.ts'

const loginOutcomes = {
  invalid_credentials: 'invalid',
  rate_limited: 'throttled',
  overloaded: 'overloaded',
} as const

// What a route that checks a password may answer besides its own errors: also a refusal of a
// session without the second factor, on an account that has one.
const PASSWORD_CHECKED = [
  ...BODY_ERRORS,
  'invalid_token',
  'invalid_credentials',
  'step_up_required',
  'rate_limited',
  'overloaded',
] as const

/** Logging in, and what the caller does with the password after proving it again. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { refreshTtlSeconds } = app.config.tokens

  app.post(
    '/session/',
    {
      schema: {
        summary:
          'Log in: an access token and a refresh token, or (an account with a second factor) an mfa_token for POST /session/mfa',
        tags: ['sessions'],
        querystring: CookieQuery,
        body: LoginBody,
        response: {
          ...tokenResponses,
          200: Type.Union([tokenResponses[200], MfaRequired]),
        },
      },
    },
    async (request, reply) => {
      const cookie = request.query.cookie === true
      if (cookie) assertSameOrigin(request, app.config.allowedOrigins)
      const { login, password } = request.body
      const outcome = await counted(app.metrics.logins, 'success', loginOutcomes, () =>
        app.logins.login(login, password, clientOf(request)),
      )
      if ('secondStep' in outcome) {
        const { mfaToken, expiresIn, methods } = outcome.secondStep
        return reply.header('cache-control', 'no-store').send({
          mfa_required: true,
          mfa_token: mfaToken,
          expires_in: expiresIn,
          methods,
        })
      }
      const options = cookie ? { maxAgeSeconds: refreshTtlSeconds } : undefined
      return sendTokens(reply, outcome.tokens, options)
    },
  )

  // onRequest: an unauthenticated request is refused before its body is even parsed. Changing
  // what proves the account needs the account's own level (NIST SP 800-63B rev 4 §2.2).
  const stepUp = [app.authenticate, app.requireStepUp]

  app.put(
    '/user/me/password',
    {
      onRequest: stepUp,
      schema: {
        summary: 'Change the password; ends every session',
        tags: ['users'],
        security: bearerAuth,
        body: ChangePasswordBody,
        response: { 204: NoContent, ...problems(...PASSWORD_CHECKED, 'password_policy') },
      },
    },
    async (request, reply) => {
      const { current_password, new_password } = request.body
      await app.credentials.changePassword(
        request.actor,
        current_password,
        new_password,
        request.ip,
      )
      return reply.code(204).send(null)
    },
  )

  app.put(
    '/user/me/email',
    {
      onRequest: stepUp,
      schema: {
        summary:
          'Change or remove (null) the email address, confirmed by the password; a code goes to the new one',
        tags: ['users'],
        security: bearerAuth,
        body: ChangeEmailBody,
        response: { 200: UserSchema, ...problems(...PASSWORD_CHECKED, 'email_taken') },
      },
    },
    async (request) => {
      const { email, password } = request.body
      const user = await app.emailChange.change(
        request.actor,
        email,
        password,
        request.ip,
        languageOf(request.headers['accept-language']),
      )
      return userBody(user)
    },
  )

  app.delete(
    '/user/me',
    {
      onRequest: stepUp,
      schema: {
        summary: 'Delete the caller’s own account, confirmed by its password',
        tags: ['users'],
        security: bearerAuth,
        body: DeleteMeBody,
        response: { 204: NoContent, ...problems(...PASSWORD_CHECKED) },
      },
    },
    async (request, reply) => {
      await app.credentials.deleteSelf(request.actor, request.body.password, request.ip)
      return reply.code(204).send(null)
    },
  )
}

export default routes
