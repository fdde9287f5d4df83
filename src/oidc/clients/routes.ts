import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { bearerAuth, NoContent, problems } from '../../schemas.ts'
import {
  ClientList,
  ClientParams,
  ClientSchema,
  ClientWithSecretSchema,
  CreateClientBody,
  CreatedClient,
  clientBody,
  UpdateClientBody,
} from './schemas.ts'
import { type ClientService, createClientService } from './service.ts'

/** The client service on the app's store, clock and event recorder (what these routes use). */
export function clientServiceOf(app: FastifyInstance): ClientService {
  return createClientService({ db: app.store.db, clock: app.clock, record: app.events.record })
}

/** The registered OpenID clients (admins): /oauth2/clients. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const clients = clientServiceOf(app)
  const tags = ['clients']
  const admin = { onRequest: [app.authenticate, app.requireAdmin] }
  const denied = ['invalid_token', 'forbidden'] as const

  app.get(
    '/oauth2/clients',
    {
      ...admin,
      schema: {
        summary: 'List the registered OpenID clients, oldest first (never their secrets)',
        tags,
        security: bearerAuth,
        response: { 200: ClientList, ...problems(...denied) },
      },
    },
    async () => ({ items: (await clients.list()).map(clientBody) }),
  )

  app.post(
    '/oauth2/clients',
    {
      ...admin,
      schema: {
        summary: 'Register a client; the answer shows its client_secret (if it has one), once',
        tags,
        security: bearerAuth,
        body: CreateClientBody,
        response: { 201: CreatedClient, ...problems(...denied, 'validation_failed') },
      },
    },
    async (request, reply) => {
      const { client, secret } = await clients.create(request.body)
      reply.header('location', `/oauth2/clients/${encodeURIComponent(client.clientId)}`)
      return reply
        .code(201)
        .send({ ...clientBody(client), ...(secret === null ? {} : { client_secret: secret }) })
    },
  )

  app.get(
    '/oauth2/clients/:client_id',
    {
      ...admin,
      schema: {
        summary: 'One client (without its secret)',
        tags,
        security: bearerAuth,
        params: ClientParams,
        response: { 200: ClientSchema, ...problems(...denied, 'not_found') },
      },
    },
    async (request) => clientBody(await clients.find(request.params.client_id)),
  )

  app.patch(
    '/oauth2/clients/:client_id',
    {
      ...admin,
      schema: {
        summary:
          'Change a client: name, redirect and logout URIs, scope, first_party, ID token algorithm, keys (not how it authenticates)',
        tags,
        security: bearerAuth,
        params: ClientParams,
        body: UpdateClientBody,
        response: { 200: ClientSchema, ...problems(...denied, 'not_found', 'validation_failed') },
      },
    },
    async (request) => clientBody(await clients.update(request.params.client_id, request.body)),
  )

  app.post(
    '/oauth2/clients/:client_id/secret',
    {
      ...admin,
      schema: {
        summary: 'A new client_secret, shown once; the previous one stops working at once',
        tags,
        security: bearerAuth,
        params: ClientParams,
        response: {
          200: ClientWithSecretSchema,
          ...problems(...denied, 'not_found', 'validation_failed'),
        },
      },
    },
    async (request) => {
      const { client, secret } = await clients.rotateSecret(request.params.client_id)
      return { ...clientBody(client), client_secret: secret }
    },
  )

  app.delete(
    '/oauth2/clients/:client_id',
    {
      ...admin,
      schema: {
        summary: 'Remove a client with its grants, tokens and consents',
        tags,
        security: bearerAuth,
        params: ClientParams,
        response: { 204: NoContent, ...problems(...denied, 'not_found') },
      },
    },
    async (request, reply) => {
      await clients.remove(request.params.client_id)
      return reply.code(204).send(null)
    },
  )
}

export default routes
