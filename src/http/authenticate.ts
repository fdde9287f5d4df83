import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { bearerResolver } from '../authn/bearer.ts'
import { AppError } from '../errors.ts'
import type { Authentication } from '../tokens/access.ts'
import type { User } from '../users/types.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: a valid Bearer access token of an existing user, or 401 invalid_token. */
    authenticate: (request: FastifyRequest) => Promise<void>
    /** onRequest hook, after `authenticate`: the caller is an admin, or 403 forbidden. */
    requireAdmin: (request: FastifyRequest) => Promise<void>
    /**
     * onRequest hook, after `authenticate`: on an account with an active second factor, the
     * access token must be of an AAL2 session, or 403 step_up_required (NIST SP 800-63B rev 4
     * §2.2: changing the authenticators of an AAL2 account takes AAL2).
     */
    requireStepUp: (request: FastifyRequest) => Promise<void>
  }
  interface FastifyRequest {
    /** The caller `authenticate` found. Reading it on a route without that hook is a 401. */
    readonly actor: User
    authenticatedUser: User | null
    /** How the caller's session was authenticated (sid, amr, aal), after `authenticate`. */
    authentication: Authentication | null
  }
}

// RFC 6750 §2.1: `Bearer` then a token68.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

/** Authentication of a Bearer access token (RFC 6750), for the routes that ask for it. */
export default fp(
  async (app) => {
    const resolve = bearerResolver(app.store.db, app.accessTokens)
    app.decorateRequest('authenticatedUser', null)
    app.decorateRequest('authentication', null)
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
      const bearer = await resolve(match[1])
      request.authenticatedUser = bearer.user
      request.authentication = bearer.authentication
    })
    app.decorate('requireAdmin', async (request: FastifyRequest) => {
      if (request.actor.role !== 'admin') {
        throw new AppError('forbidden', { detail: 'Only an admin may do this.' })
      }
    })
    app.decorate('requireStepUp', async (request: FastifyRequest) => {
      if (request.actor.mfaEnabled && request.authentication?.aal !== 'aal2') {
        throw new AppError('step_up_required', {
          detail:
            'This account has a second factor: sign in again with it (an access token with aal2) to do this.',
        })
      }
    })
  },
  { name: 'authenticate', dependencies: ['store', 'tokens'] },
)
