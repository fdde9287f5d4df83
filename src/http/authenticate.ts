import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { bearerResolver } from '../authn/bearer.ts'
import { AppError } from '../errors.ts'
import type { User } from '../users/types.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: a valid Bearer access token of an existing user, or 401 invalid_token. */
    authenticate: (request: FastifyRequest) => Promise<void>
    /** onRequest hook, after `authenticate`: the caller is an admin, or 403 forbidden. */
    requireAdmin: (request: FastifyRequest) => Promise<void>
  }
  interface FastifyRequest {
    /** The caller `authenticate` found. Reading it on a route without that hook is a 401. */
    readonly actor: User
    authenticatedUser: User | null
  }
}

// RFC 6750 §2.1: `Bearer` then a token68.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

/** Authentication of a Bearer access token (RFC 6750), for the routes that ask for it. */
export default fp(
  async (app) => {
    const resolve = bearerResolver(app.store.db, app.accessTokens)
    app.decorateRequest('authenticatedUser', null)
    app.decorateRequest('actor', {
      getter(this: FastifyRequest) {
        // A route that forgot its onRequest hook fails closed.
        if (!this.authenticatedUser) throw new AppError('invalid_token')
        return this.authenticatedUser
      },
    })
    app.decorate('authenticate', async (request: FastifyRequest) => {
      const match = BEARER.exec(request.headers.authorization ?? '')
      if (!match?.[1]) {
        // RFC 6750 §3.1: no error code when no credentials were sent at all.
        throw new AppError('invalid_token', {
          detail: 'An access token is required (Authorization: Bearer …).',
        })
      }
      request.authenticatedUser = await resolve(match[1])
    })
    app.decorate('requireAdmin', async (request: FastifyRequest) => {
      if (request.actor.role !== 'admin') {
        throw new AppError('forbidden', { detail: 'Only an admin may do this.' })
      }
    })
  },
  { name: 'authenticate', dependencies: ['store', 'tokens'] },
)
