import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { invalidField } from '../errors.ts'
import { bearerAuth, NoContent, problems } from '../schemas.ts'
import { isUuid } from '../text.ts'
import { ListQuery, UserIdParams, UserList, userBody } from './schemas.ts'
import { noSuchUser } from './service.ts'

// Cursors are opaque to clients (base64url of the last id), so the paging key may change.
const encodeCursor = (id: string) => Buffer.from(id).toString('base64url')
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString()
  if (isUuid(id)) return id
  throw invalidField('cursor', 'invalid_format', 'is not a cursor this service gave out')
}

/** What admins do with other accounts: list them, delete them. */
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
        cursor ? decodeCursor(cursor) : undefined,
        limit,
      )
      const next = page.next ? encodeCursor(page.next) : null
      if (next) reply.header('link', `</user/?limit=${limit}&cursor=${next}>; rel="next"`)
      return { items: page.items.map(userBody), next_cursor: next }
    },
  )

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
      const { id } = request.params
      if (!isUuid(id)) throw noSuchUser()
      await app.users.remove(request.actor, id.toLowerCase())
      return reply.code(204).send(null)
    },
  )
}

export default routes
