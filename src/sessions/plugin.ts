import fp from 'fastify-plugin'
import { refreshTokenRepository } from './repository.ts'
import { createSessionService, type SessionService } from './service.ts'

const PRUNE_EVERY_MS = 60 * 60 * 1000

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionService
  }
}

export default fp(
  async (app) => {
    app.decorate(
      'sessions',
      createSessionService({
        db: app.store.db,
        clock: app.clock,
        accessTokens: app.accessTokens,
        refreshTtlSeconds: app.config.tokens.refreshTtlSeconds,
        onReuse: ({ familyId, userId }) => {
          app.metrics.refreshes.inc({ outcome: 'reuse' })
          app.log.warn({ familyId, userId }, 'refresh token reuse detected: token family revoked')
        },
      }),
    )
    // Expired refresh tokens are useless (spent ones are kept until then, for reuse detection).
    const prune = async () => {
      try {
        const removed = await refreshTokenRepository(app.store.db).deleteExpired(app.clock.now())
        if (removed > 0) app.log.info({ removed }, 'pruned expired refresh tokens')
      } catch (error) {
        app.log.warn({ err: error }, 'pruning expired refresh tokens failed')
      }
    }
    const timer = setInterval(prune, PRUNE_EVERY_MS).unref()
    app.addHook('onClose', async () => clearInterval(timer))
  },
  { name: 'sessions', dependencies: ['core', 'metrics', 'store', 'tokens'] },
)
