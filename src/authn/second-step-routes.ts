import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Static } from 'typebox'
import { invalidField } from '../errors.ts'
import { counted } from '../metrics/outcomes.ts'
import { languageOf } from '../outbox/mail.ts'
import { RequestOptions } from '../passkeys/schemas.ts'
import { BODY_ERRORS, problems } from '../schemas.ts'
import { assertSameOrigin } from '../sessions/cookie.ts'
import { clientOf, sendTokens } from '../sessions/reply.ts'
import { CookieQuery, tokenResponses } from '../sessions/schemas.ts'
import { MfaBody, MfaTokenBody } from './schemas.ts'
import type { SecondProof } from './second-step.ts'

const PROOFS = ['code', 'recovery_code', 'credential'] as const

const outcomes = {
  invalid_code: 'invalid',
  invalid_mfa_token: 'invalid',
  rate_limited: 'throttled',
  overloaded: 'overloaded',
} as const

/** The second step of a login on an account with a second factor. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { refreshTtlSeconds } = app.config.tokens
  const tags = ['sessions']

  app.post(
    '/session/mfa',
    {
      schema: {
        summary:
          'Finish a login with the second factor: a TOTP code, a saved recovery code or a passkey',
        description:
          'Gives the token pair of an AAL2 session. A wrong proof is 400 invalid_code and counts against the mfa_token (5 and it dies); a used recovery code is spent.',
        tags,
        querystring: CookieQuery,
        body: MfaBody,
        response: {
          200: tokenResponses[200],
          ...problems(
            ...BODY_ERRORS,
            'invalid_code',
            'invalid_mfa_token',
            'forbidden',
            'account_disabled',
            'rate_limited',
            'overloaded',
          ),
        },
      },
    },
    async (request, reply) => {
      const cookie = request.query.cookie === true
      if (cookie) assertSameOrigin(request, app.config.allowedOrigins)
      const { mfa_token: mfaToken, ...rest } = request.body
      const given = PROOFS.filter((name) => rest[name] !== undefined)
      if (given.length !== 1) {
        throw invalidField(
          given[1] ?? 'code',
          given.length === 0 ? 'required' : 'invalid_value',
          'Give exactly one of code, recovery_code or credential.',
        )
      }
      const proof = rest as SecondProof
      const pair = await counted(app.metrics.logins, 'success', outcomes, () =>
        app.secondStep.complete(
          mfaToken,
          proof,
          clientOf(request),
          languageOf(request.headers['accept-language']),
        ),
      )
      return sendTokens(reply, pair, cookie ? { maxAgeSeconds: refreshTtlSeconds } : undefined)
    },
  )

  app.post(
    '/session/mfa/passkey/options',
    {
      schema: {
        summary:
          'Request options for a passkey as the second step (only the account’s own passkeys)',
        tags,
        body: MfaTokenBody,
        response: {
          200: RequestOptions,
          ...problems(...BODY_ERRORS, 'invalid_mfa_token'),
        },
      },
    },
    async (request, reply) => {
      const options = await app.secondStep.passkeyOptions(request.body.mfa_token)
      return reply
        .header('cache-control', 'no-store')
        .send(options as Static<typeof RequestOptions>)
    },
  )
}

export default routes
