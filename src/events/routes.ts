import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { invalidField } from '../errors.ts'
import { bearerAuth, problems } from '../schemas.ts'
import { isUuid } from '../text.ts'
import { type Event, ownView } from './catalogue.ts'
import { eventRepository, type TrailFilter, type TrailPosition } from './repository.ts'
import { ActivityQuery, AuditQuery, EventPage } from './schemas.ts'

// Cursors are opaque to clients: base64url of the last event's time and id.
const encodeCursor = (event: Event) =>
  Buffer.from(`${event.occurred_at}|${event.id}`).toString('base64url')

function decodeCursor(cursor: string): TrailPosition {
  const [occurredAt = '', id = ''] = Buffer.from(cursor, 'base64url').toString().split('|')
  const at = new Date(occurredAt)
  if (isUuid(id) && !Number.isNaN(at.getTime()) && at.toISOString() === occurredAt) {
    return { occurredAt, id }
  }
  throw invalidField('cursor', 'invalid_format', 'is not a cursor this service gave out')
}

/** One extra row tells whether there is a next page; its cursor also goes into a Link header. */
async function page(
  reply: FastifyReply,
  read: (limit: number, from?: TrailPosition) => Promise<Event[]>,
  path: string,
  query: Record<string, string | number | undefined>,
) {
  const limit = Number(query.limit)
  const rows = await read(limit + 1, query.cursor ? decodeCursor(String(query.cursor)) : undefined)
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  const next = rows.length > limit && last ? encodeCursor(last) : null
  if (next) {
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && key !== 'cursor') params.set(key, String(value))
    }
    params.set('cursor', next)
    reply.header('link', `<${path}?${params}>; rel="next"`)
  }
  return { items, next_cursor: next }
}

/** The audit trail: everything for admins, one's own for everybody. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const trail = eventRepository(app.store.db)
  const tags = ['events']

  app.get(
    '/audit/',
    {
      onRequest: [app.authenticate, app.requireAdmin],
      schema: {
        summary: 'The audit trail, newest first (admins); RFC 8288 Link: rel="next"',
        tags,
        security: bearerAuth,
        querystring: AuditQuery,
        response: {
          200: EventPage,
          ...problems('invalid_token', 'forbidden', 'validation_failed'),
        },
      },
    },
    async (request, reply) => {
      const { user_id, type, after, before } = request.query
      const filter: TrailFilter = {
        ...(user_id ? { userId: user_id.toLowerCase() } : {}),
        ...(type ? { type } : {}),
        ...(after ? { after: new Date(after) } : {}),
        ...(before ? { before: new Date(before) } : {}),
      }
      return page(reply, (limit, from) => trail.page(filter, limit, from), '/audit/', {
        ...request.query,
      })
    },
  )

  app.get(
    '/user/me/activity',
    {
      onRequest: app.authenticate,
      schema: {
        summary: 'The caller\'s own security events, newest first; RFC 8288 Link: rel="next"',
        tags,
        security: bearerAuth,
        querystring: ActivityQuery,
        response: { 200: EventPage, ...problems('invalid_token', 'validation_failed') },
      },
    },
    async (request, reply) => {
      const userId = request.actor.id
      const result = await page(
        reply,
        (limit, from) => trail.page({ userId }, limit, from),
        '/user/me/activity',
        { ...request.query },
      )
      return { ...result, items: result.items.map(ownView) }
    },
  )
}

export default routes
