import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../errors.ts'
import { bearerAuth, NoContent, problems } from '../schemas.ts'
import { clientsRepository } from './clients/repository.ts'
import { consentRepository } from './consents.ts'
import { oidcRepository } from './repository.ts'
import { ConsentList, ConsentParams } from './schemas.ts'

/** The applications a user has allowed, and taking that back. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.store
  const tags = ['oauth2']

  app.get(
    '/user/me/consents',
    {
      onRequest: [app.authenticate],
      schema: {
        summary: 'The applications you allowed to sign you in, and what they may see',
        tags,
        security: bearerAuth,
        response: { 200: ConsentList, ...problems('invalid_token') },
      },
    },
    async (request) => {
      const consents = await consentRepository(db).list(request.actor.id)
      return {
        consents: consents.map((c) => ({
          client_id: c.clientId,
          client_name: c.clientName,
          scopes: c.scopes,
          granted_at: c.grantedAt.toISOString(),
          updated_at: c.updatedAt.toISOString(),
        })),
      }
    },
  )

  app.delete(
    '/user/me/consents/:client_id',
    {
      onRequest: [app.authenticate],
      schema: {
        summary:
          'Withdraw a consent: the application’s grants and tokens end, and it must ask again',
        tags,
        security: bearerAuth,
        params: ConsentParams,
        response: { 204: NoContent, ...problems('invalid_token', 'not_found') },
      },
    },
    async (request, reply) => {
      const userId = request.actor.id
      const clientId = request.params.client_id
      const withdrawn = await db.transaction().execute(async (trx) => {
        const client = await clientsRepository(trx).find(clientId)
        if (!(await consentRepository(trx).remove(userId, clientId))) return false
        // Grants, codes, access and refresh tokens: none outlives the consent they rest on.
        await oidcRepository(trx).removeOwnedBy(userId, clientId)
        await app.events.record(trx, {
          type: 'oauth.consent_withdrawn',
          userId,
          data: { client_id: clientId, client_name: client?.name ?? clientId },
        })
        return true
      })
      if (!withdrawn) throw new AppError('not_found', { detail: 'No consent for this client.' })
      return reply.code(204).send(null)
    },
  )
}

export default routes
