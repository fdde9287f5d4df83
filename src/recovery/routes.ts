import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { languageOf } from '../outbox/mail.ts'
import { Accepted, BODY_ERRORS, problems } from '../schemas.ts'
import { accountName } from './account.ts'
import { CompleteRecoveryBody, RecoveryRequestBody, recoveryResponses } from './schemas.ts'

// The one answer to every recovery request: its bytes must not depend on the account.
const ACCEPTED = {
  detail: 'If the account has a verified email address, a code is on its way to it.',
}

/** Recovery by emailed code: ask for one, then set a new password with it. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['recovery']

  app.post(
    '/recovery/',
    {
      schema: {
        summary:
          'Ask for a recovery code by login or email; the same 202 whether or not the account exists',
        tags,
        body: RecoveryRequestBody,
        response: { 202: Accepted, ...problems(...BODY_ERRORS, 'rate_limited') },
      },
    },
    async (request, reply) => {
      const account = accountName(request.body)
      const language = languageOf(request.headers['accept-language'])
      await app.recoveryRequests.request(account, request.ip, language)
      return reply.code(202).send(ACCEPTED)
    },
  )

  app.post(
    '/recovery/complete',
    {
      schema: {
        summary: 'Set a new password with the mailed code; ends every session',
        tags,
        body: CompleteRecoveryBody,
        response: recoveryResponses,
      },
    },
    async (request, reply) => {
      const { code, new_password } = request.body
      await app.recoveryCompletion.complete({
        account: accountName(request.body),
        code,
        newPassword: new_password,
        address: request.ip,
        language: languageOf(request.headers['accept-language']),
      })
      return reply.code(204).send(null)
    },
  )
}

export default routes
