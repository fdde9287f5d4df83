import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { decodeIdCursor, encodeIdCursor } from '../cursor.ts'
import { bearerAuth, NoContent, problems } from '../schemas.ts'
import type { Webhook } from './repository.ts'
import {
  CreateWebhookBody,
  DeliveriesQuery,
  DeliveryPage,
  DeliveryParams,
  DeliverySchema,
  ListQuery,
  UpdateWebhookBody,
  type WebhookBody,
  WebhookList,
  WebhookParams,
  WebhookSchema,
  WebhookWithSecret,
} from './schemas.ts'

const decodeCursor = (cursor: string | undefined) =>
  cursor === undefined ? undefined : decodeIdCursor(cursor)

/** The stored secrets never leave: this is the allow-list of what does. */
function webhookBody(hook: Webhook): WebhookBody {
  return {
    id: hook.id,
    url: hook.url,
    description: hook.description,
    types: hook.types,
    enabled: hook.enabled,
    disabled_reason: hook.disabledReason,
    previous_secret_expires_at: hook.previousSecretUntil?.toISOString() ?? null,
    created_at: hook.createdAt.toISOString(),
    updated_at: hook.updatedAt.toISOString(),
  }
}

/** One extra row tells whether there is a next page. */
function paged<T extends { id: string }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return { items, next: rows.length > limit && last ? encodeIdCursor(last.id) : null }
}

/** Webhook endpoints and their deliveries (admins). */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['webhooks']
  const admin = { onRequest: [app.authenticate, app.requireAdmin] }
  const denied = ['invalid_token', 'forbidden'] as const

  app.post(
    '/webhooks/',
    {
      ...admin,
      schema: {
        summary: 'Add an endpoint; the answer shows its signing secret, once',
        tags,
        security: bearerAuth,
        body: CreateWebhookBody,
        response: { 201: WebhookWithSecret, ...problems(...denied, 'validation_failed') },
      },
    },
    async (request, reply) => {
      const { webhook, secret } = await app.webhooks.create(request.body)
      reply.header('location', `/webhooks/${webhook.id}`)
      return reply.code(201).send({ ...webhookBody(webhook), secret })
    },
  )

  app.get(
    '/webhooks/',
    {
      ...admin,
      schema: {
        summary: 'List endpoints in creation order; RFC 8288 Link: rel="next"',
        tags,
        security: bearerAuth,
        querystring: ListQuery,
        response: { 200: WebhookList, ...problems(...denied, 'validation_failed') },
      },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query
      const page = paged(await app.webhooks.list(decodeCursor(cursor), limit + 1), limit)
      if (page.next)
        reply.header('link', `</webhooks/?limit=${limit}&cursor=${page.next}>; rel="next"`)
      return { items: page.items.map(webhookBody), next_cursor: page.next }
    },
  )

  app.get(
    '/webhooks/:id',
    {
      ...admin,
      schema: {
        summary: 'One endpoint (without its secret)',
        tags,
        security: bearerAuth,
        params: WebhookParams,
        response: { 200: WebhookSchema, ...problems(...denied, 'not_found') },
      },
    },
    async (request) => webhookBody(await app.webhooks.find(request.params.id)),
  )

  app.patch(
    '/webhooks/:id',
    {
      ...admin,
      schema: {
        summary: 'Change an endpoint: url, types, description; enabled pauses or resumes it',
        tags,
        security: bearerAuth,
        params: WebhookParams,
        body: UpdateWebhookBody,
        response: { 200: WebhookSchema, ...problems(...denied, 'not_found', 'validation_failed') },
      },
    },
    async (request) => webhookBody(await app.webhooks.update(request.params.id, request.body)),
  )

  app.delete(
    '/webhooks/:id',
    {
      ...admin,
      schema: {
        summary: 'Remove an endpoint; its waiting deliveries go with it',
        tags,
        security: bearerAuth,
        params: WebhookParams,
        response: { 204: NoContent, ...problems(...denied, 'not_found') },
      },
    },
    async (request, reply) => {
      await app.webhooks.remove(request.params.id)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      ...admin,
      schema: {
        summary:
          'A new signing secret, shown once; the previous one keeps signing beside it for 24 h',
        tags,
        security: bearerAuth,
        params: WebhookParams,
        response: { 200: WebhookWithSecret, ...problems(...denied, 'not_found') },
      },
    },
    async (request) => {
      const { webhook, secret } = await app.webhooks.rotate(request.params.id)
      return { ...webhookBody(webhook), secret }
    },
  )

  app.get(
    '/webhooks/:id/deliveries',
    {
      ...admin,
      schema: {
        summary: 'An endpoint\'s deliveries, newest first; RFC 8288 Link: rel="next"',
        tags,
        security: bearerAuth,
        params: WebhookParams,
        querystring: DeliveriesQuery,
        response: { 200: DeliveryPage, ...problems(...denied, 'not_found', 'validation_failed') },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const { status, limit, cursor } = request.query
      const rows = await app.webhooks.deliveries(id, status, decodeCursor(cursor), limit + 1)
      const page = paged(rows, limit)
      if (page.next) {
        const params = new URLSearchParams({
          ...(status ? { status } : {}),
          limit: String(limit),
          cursor: page.next,
        })
        reply.header('link', `</webhooks/${id}/deliveries?${params}>; rel="next"`)
      }
      return { items: page.items, next_cursor: page.next }
    },
  )

  app.post(
    '/webhooks/:id/deliveries/:delivery_id/retry',
    {
      ...admin,
      schema: {
        summary:
          'Deliver again at once: a failed or delivered one on a fresh retry schedule, a pending one now rather than at its next time (the webhook-id stays the same)',
        tags,
        security: bearerAuth,
        params: DeliveryParams,
        response: { 202: DeliverySchema, ...problems(...denied, 'not_found') },
      },
    },
    async (request, reply) => {
      const { id, delivery_id } = request.params
      return reply.code(202).send(await app.webhooks.retry(id, delivery_id))
    },
  )
}

export default routes
