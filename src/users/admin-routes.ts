import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { decodeIdCursor, encodeIdCursor } from '../cursor.ts'
import { bearerAuth, problems } from '../schemas.ts'
import { ListQuery, UserList, userBody } from './schemas.ts'

/** Admins list the accounts (deleting and disabling them: authn/account-routes.ts). */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['users']

  app.get(
    '/user/',
    {
      onRequest: [app.authenticate, app.requireAdmin],
      schema: {
        summary: 'List users in registration order (admins); RFC 8288 Link: rel="next"',
        tags,
        security: bearerAuth,
        querystring: ListQuery,
        response: { 200: UserList, ...problems('invalid_token', 'forbidden', 'validation_failed') },
      },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query
      const page = await app.users.list(
        request.actor,
        cursor ? decodeIdCursor(cursor) : undefined,
        limit,
      )
      const next = page.next ? encodeIdCursor(page.next) : null
      if (next) reply.header('link', `</user/?limit=${limit}&cursor=${next}>; rel="next"`)
      return { items: page.items.map(userBody), next_cursor: next }
    },
  )
}

export default routes
