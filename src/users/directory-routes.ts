import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../errors.ts'
import { NoContent, problems, userBody } from '../http/schemas.ts'
import { isUuid } from '../text.ts'
import { actor, bearer, requireAdmin } from './request.ts'
import { ListQuery, User, UserIdParams, UserList } from './schemas.ts'
import { noSuchUser } from './service.ts'

// Cursors are opaque to clients (base64url of the last id), so the paging key may change.
const encodeCursor = (id: string) => Buffer.from(id).toString('base64url')
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString()
  if (isUuid(id)) return id
  throw new AppError('validation_failed', {
    errors: [
      { field: 'cursor', code: 'invalid_format', message: 'is not a cursor this service gave out' },
    ],
  })
}

/** Users by id (the user itself or an admin) and the list of all users (admins). */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const auth = { onRequest: app.authenticate }
  const tags = ['users']

  app.get(
    '/user/',
    {
      onRequest: [app.authenticate, requireAdmin],
      schema: {
        summary: 'List users in registration order (admins); RFC 8288 Link: rel="next"',
        tags,
        security: bearer,
        querystring: ListQuery,
        response: { 200: UserList, ...problems('invalid_token', 'forbidden', 'validation_failed') },
      },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query
      const page = await app.users.list(
        actor(request),
        cursor ? decodeCursor(cursor) : undefined,
        limit,
      )
      const next = page.next ? encodeCursor(page.next) : null
      if (next) reply.header('link', `</user/?limit=${limit}&cursor=${next}>; rel="next"`)
      return { items: page.items.map(userBody), next_cursor: next }
    },
  )

  app.get(
    '/user/:id',
    {
      ...auth,
      schema: {
        summary: 'A user: itself, or any for an admin (404 otherwise, as for no such id)',
        tags,
        security: bearer,
        params: UserIdParams,
        response: { 200: User, ...problems('invalid_token', 'not_found') },
      },
    },
    async (request) => {
      const { id } = request.params
      if (!isUuid(id)) throw noSuchUser()
      return userBody(await app.users.get(actor(request), id.toLowerCase()))
    },
  )

  app.delete(
    '/user/:id',
    {
      ...auth,
      schema: {
        summary: 'Delete a user: itself, or any for an admin (404 otherwise)',
        tags,
        security: bearer,
        params: UserIdParams,
        response: { 204: NoContent, ...problems('invalid_token', 'not_found') },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      if (!isUuid(id)) throw noSuchUser()
      await app.users.remove(actor(request), id.toLowerCase())
      return reply.code(204).send(null)
    },
  )
}

export default routes
