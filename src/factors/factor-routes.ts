import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { languageOf } from '../outbox/mail.ts'
import { BODY_ERRORS, bearerAuth, NoContent, problems } from '../schemas.ts'
import { UserIdParams } from '../users/schemas.ts'
import { FactorIdParams, FactorList, factorBody, RemoveFactorBody } from './schemas.ts'

/** The caller's factors (list, remove), and an admin's reset. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['factors']

  app.get(
    '/user/me/factors',
    {
      onRequest: app.authenticate,
      schema: {
        summary: 'The caller’s active second factors, and how many recovery codes are left',
        tags,
        security: bearerAuth,
        response: { 200: FactorList, ...problems('invalid_token') },
      },
    },
    async (request) => {
      const { items, recoveryCodesRemaining } = await app.factors.list(request.actor)
      return { items: items.map(factorBody), recovery_codes_remaining: recoveryCodesRemaining }
    },
  )

  app.delete(
    '/user/me/factors/:id',
    {
      // Removing a factor of an account that has one takes AAL2 (the hook says why).
      onRequest: [app.authenticate, app.requireStepUp],
      schema: {
        summary: 'Remove one of the caller’s factors, confirmed by the password',
        description: 'A notice goes to the account’s address if it is verified.',
        tags,
        security: bearerAuth,
        params: FactorIdParams,
        body: RemoveFactorBody,
        response: {
          204: NoContent,
          ...problems(
            ...BODY_ERRORS,
            'invalid_token',
            'step_up_required',
            'invalid_credentials',
            'not_found',
            'rate_limited',
            'overloaded',
          ),
        },
      },
    },
    async (request, reply) => {
      await app.factors.remove(
        request.actor,
        request.params.id,
        request.body.password,
        request.ip,
        languageOf(request.headers['accept-language']),
      )
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/user/:id/factors',
    {
      onRequest: [app.authenticate, app.requireAdmin],
      schema: {
        summary: 'Remove every second factor of a user (admins): “I lost my phone”',
        description:
          'Signing in then takes the password alone. A notice goes to the user’s address if it is verified.',
        tags,
        security: bearerAuth,
        params: UserIdParams,
        response: { 204: NoContent, ...problems('invalid_token', 'forbidden', 'not_found') },
      },
    },
    async (request, reply) => {
      await app.factors.resetAll(request.params.id, languageOf(request.headers['accept-language']))
      return reply.code(204).send(null)
    },
  )
}

export default routes
