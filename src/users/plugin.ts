import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { AppError } from '../errors.ts'
import { invalidToken, issuedAtMs } from '../tokens/access.ts'
import { type User, userRepository, withoutHash } from './repository.ts'
import { createUserService, type UserService } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    users: UserService
    /** preHandler: a valid Bearer access token of an existing user, or 401 invalid_token. */
    authenticate: (request: FastifyRequest) => Promise<void>
  }
  interface FastifyRequest {
    actor: User | null
  }
}

// RFC 6750 §2.1: `Bearer` then a token68.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

export default fp(
  async (app) => {
    app.decorate(
      'users',
      createUserService({
        db: app.store.db,
        clock: app.clock,
        hasher: app.hasher,
        policy: app.passwordPolicy,
        throttle: app.throttle,
      }),
    )
    const users = userRepository(app.store.db)
    app.decorateRequest('actor', null)
    app.decorate('authenticate', async (request: FastifyRequest) => {
      const match = BEARER.exec(request.headers.authorization ?? '')
      if (!match?.[1]) {
        // RFC 6750 §3.1: no error code when no credentials were sent at all.
        throw new AppError('invalid_token', {
          detail: 'An access token is required (Authorization: Bearer …).',
        })
      }
      const claims = await app.accessTokens.verify(match[1])
      const found = await users.findById(claims.sub)
      // A deleted user's tokens die with it; a password change ends older tokens here too.
      if (!found) throw invalidToken(undefined, 'The user of this token no longer exists.')
      // Issued at or before the last change: a token signed in the same millisecond as the change
      // may come from a refresh that the change then ended.
      if (issuedAtMs(claims) <= found.passwordChangedAt.getTime()) {
        throw invalidToken(undefined, 'The password was changed after this token was issued.')
      }
      request.actor = withoutHash(found)
    })
  },
  { name: 'users', dependencies: ['core', 'store', 'passwords', 'tokens', 'throttle'] },
)
