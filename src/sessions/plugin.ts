import fp from 'fastify-plugin'
import { challengeRepository } from '../challenges/repository.ts'
import { refreshTokenRepository } from './repository.ts'
import { createSessionService, type SessionService } from './service.ts'
import { sessionRepository } from './session-repository.ts'

const PRUNE_EVERY_MS = 60 * 60 * 1000
const DAY_MS = 24 * 60 * 60 * 1000

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
        events: app.events.record,
        onReuse: ({ familyId, userId }) => {
          app.metrics.refreshes.inc({ outcome: 'reuse' })
          app.log.warn({ familyId, userId }, 'refresh token reuse detected: token family revoked')
        },
      }),
    )
    // Expired refresh tokens are useless (spent ones are kept until then, for reuse detection).
    const prune = async () => {
      try {
        const now = app.clock.now()
        const { db } = app.store
        const removed = await refreshTokenRepository(db).deleteExpired(now)
        if (removed > 0) app.log.info({ removed }, 'pruned expired refresh tokens')
        // Ended sessions are kept a day: their access tokens (15 minutes) must find them ended.
        const sessions = await sessionRepository(db).deleteStale(new Date(now.getTime() - DAY_MS))
        if (sessions > 0) app.log.info({ removed: sessions }, 'pruned ended sessions')
        const challenges = await challengeRepository(db).deleteExpired(now)
        if (challenges > 0) app.log.info({ removed: challenges }, 'pruned expired challenges')
      } catch (error) {
        app.log.warn({ err: error }, 'pruning expired refresh tokens failed')
      }
    }
    const timer = setInterval(prune, PRUNE_EVERY_MS).unref()
    app.addHook('onClose', async () => clearInterval(timer))
  },
  { name: 'sessions', dependencies: ['core', 'metrics', 'store', 'tokens', 'events'] },
)
