import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { memoryLimiters, redisLimiters } from './limiters.ts'
import { createThrottle, noThrottle, type Throttle } from './throttle.ts'

const REDIS_COMMAND_TIMEOUT_MS = 500

export type SharedStateStatus = 'ok' | 'down' | 'not_configured'

declare module 'fastify' {
  interface FastifyInstance {
    throttle: Throttle
    /** Redis, when configured: 'down' means limits are held per instance until it is back. */
    sharedState: { status(): Promise<SharedStateStatus> }
  }
}

export default fp(
  async (app) => {
    const { redis: redisConfig, throttle: limits } = app.config
    // No offline queue: while Redis is away a command fails at once and the in-memory insurance
    // limiter answers, rather than requests waiting for a reconnect. A command timeout covers a
    // Redis that is connected but not answering (frozen) the same way.
    const redis = redisConfig.url
      ? new Redis(redisConfig.url, {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
        })
      : undefined
    // Logged when it changes, whoever notices first: the connection's events or a readiness ping.
    let state: 'ok' | 'down' | undefined
    const observe = (now: 'ok' | 'down') => {
      if (now === 'ok' && state !== 'ok') {
        app.log.info('redis connected: throttling limits are shared by all instances')
      } else if (now === 'down' && state === 'ok') {
        app.log.warn('redis unreachable: throttling limits now held per instance')
      }
      state = now
    }
    if (redis) {
      redis.on('ready', () => observe('ok'))
      redis.on('error', () => observe('down'))
      app.addHook('onClose', async () => {
        redis.disconnect()
      })
    }
    const limiters = redis
      ? redisLimiters(redis, redisConfig.keyPrefix)
      : memoryLimiters(redisConfig.keyPrefix)
    app.decorate('throttle', limits ? createThrottle(limiters, limits) : noThrottle)
    app.decorate('sharedState', {
      async status(): Promise<SharedStateStatus> {
        if (!redis) return 'not_configured'
        const now = await redis.ping().then(
          () => 'ok' as const,
          () => 'down' as const,
        )
        observe(now)
        return now
      },
    })
  },
  { name: 'throttle', dependencies: ['core'] },
)
