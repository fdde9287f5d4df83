import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { bearerAuth, NoContent, problems } from '../schemas.ts'
import { isUuid } from '../text.ts'
import { UserIdParams, UserSchema, userBody } from '../users/schemas.ts'
import { noSuchUser } from '../users/service.ts'

const DisableBody = Type.Object(
  {
    reason: Type.Optional(
      Type.String({
        maxLength: 500,
        description: 'Why, for the trail (the user.disabled event); never shown to the user',
      }),
    ),
  },
  { additionalProperties: false },
)

/** An id from the path: a malformed one names no account, like one that does not exist. */
function userId(id: string): string {
  if (!isUuid(id)) throw noSuchUser()
  return id.toLowerCase()
}

/** What admins do to other accounts: delete, disable, enable. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['users']

  app.delete(
    '/user/:id',
    {
      onRequest: app.authenticate,
      schema: {
        summary:
          'Delete another user (admins; 404 for others). Your own account: DELETE /user/me (403 here)',
        tags,
        security: bearerAuth,
        params: UserIdParams,
        response: { 204: NoContent, ...problems('invalid_token', 'forbidden', 'not_found') },
      },
    },
    async (request, reply) => {
      await app.accounts.remove(request.actor, userId(request.params.id))
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/user/:id/sessions',
    {
      onRequest: app.authenticate,
      schema: {
        summary:
          'End every session of a user (admins; 404 for others): its refresh tokens are revoked and its access tokens refused at once',
        tags,
        security: bearerAuth,
        params: UserIdParams,
        response: { 204: NoContent, ...problems('invalid_token', 'forbidden', 'not_found') },
      },
    },
    async (request, reply) => {
      await app.accounts.endSessions(request.actor, userId(request.params.id))
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/user/:id/disable',
    {
      onRequest: app.authenticate,
      // The body is optional: a POST without one has no reason (its schema alone would say
      // "must be an object" to an absent body).
      preValidation: async (request) => {
        request.body ??= {}
      },
      schema: {
        summary:
          'Disable another user (admins; 404 for others): every session ends at once, and sign-in is 403 account_disabled',
        tags,
        security: bearerAuth,
        params: UserIdParams,
        body: Type.Optional(DisableBody),
        response: {
          200: UserSchema,
          ...problems('invalid_token', 'forbidden', 'not_found', 'validation_failed'),
        },
      },
    },
    async (request) => {
      const id = userId(request.params.id)
      return userBody(await app.accounts.disable(request.actor, id, request.body?.reason))
    },
  )

  app.post(
    '/user/:id/enable',
    {
      onRequest: app.authenticate,
      schema: {
        summary: 'Enable a disabled user again (admins; 404 for others)',
        tags,
        security: bearerAuth,
        params: UserIdParams,
        response: { 200: UserSchema, ...problems('invalid_token', 'forbidden', 'not_found') },
      },
    },
    async (request) =>
      userBody(await app.accounts.enable(request.actor, userId(request.params.id))),
  )
}

export default routes
