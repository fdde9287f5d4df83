import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { bearerAuth, problems } from '../schemas.ts'
import { isUuid } from '../text.ts'
import { UserIdParams, UserSchema, userBody } from './schemas.ts'
import { noSuchUser } from './service.ts'

/** The caller's own account, and a user by id (itself, or any for an admin). */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  // onRequest: an unauthenticated request is refused before its body is even parsed.
  const onRequest = app.authenticate
  const tags = ['users']

  app.get(
    '/user/me',
    {
      onRequest,
      schema: {
        summary: 'The caller',
        tags,
        security: bearerAuth,
        response: { 200: UserSchema, ...problems('invalid_token') },
      },
    },
    async (request) => userBody(request.actor),
  )

  app.get(
    '/user/:id',
    {
      onRequest,
      schema: {
        summary: 'A user: itself, or any for an admin (404 otherwise, as for no such id)',
        tags,
        security: bearerAuth,
        params: UserIdParams,
        response: { 200: UserSchema, ...problems('invalid_token', 'not_found') },
      },
    },
    async (request) => {
      const { id } = request.params
      if (!isUuid(id)) throw noSuchUser()
      return userBody(await app.users.get(request.actor, id.toLowerCase()))
    },
  )
}

export default routes
