import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { languageOf } from '../outbox/mail.ts'
import { BODY_ERRORS, bearerAuth, problems } from '../schemas.ts'
import { NewRecoveryCodes, NewRecoveryCodesBody, RecoveryCodesStatus } from './schemas.ts'

/** The caller's own saved recovery codes. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  // onRequest: an unauthenticated request is refused before its body is even parsed.
  const onRequest = app.authenticate
  const tags = ['users']

  app.post(
    '/user/me/recovery-codes',
    {
      // Codes stand in for the second factor: making them needs the account's level (AAL2).
      onRequest: [app.authenticate, app.requireStepUp],
      schema: {
        summary: 'A new set of saved recovery codes, shown this once; confirmed by the password',
        description:
          'Replaces any earlier set. A notice goes to the account’s address if it is verified.',
        tags,
        security: bearerAuth,
        body: NewRecoveryCodesBody,
        response: {
          201: NewRecoveryCodes,
          ...problems(
            ...BODY_ERRORS,
            'invalid_token',
            'invalid_credentials',
            'step_up_required',
            'rate_limited',
            'overloaded',
          ),
        },
      },
    },
    async (request, reply) => {
      const { codes, createdAt } = await app.recoveryCodes.generate(
        request.actor,
        request.body.password,
        request.ip,
        languageOf(request.headers['accept-language']),
      )
      return reply
        .code(201)
        .header('location', '/user/me/recovery-codes')
        .send({ codes, created_at: createdAt.toISOString() })
    },
  )

  app.get(
    '/user/me/recovery-codes',
    {
      onRequest,
      schema: {
        summary: 'How many saved recovery codes are left (never the codes)',
        tags,
        security: bearerAuth,
        response: { 200: RecoveryCodesStatus, ...problems('invalid_token') },
      },
    },
    async (request) => {
      const { remaining, createdAt } = await app.recoveryCodes.status(request.actor)
      return { remaining, created_at: createdAt?.toISOString() ?? null }
    },
  )
}

export default routes
