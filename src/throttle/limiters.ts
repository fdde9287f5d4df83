import type { Redis } from 'ioredis'
import {
  type IRateLimiterOptions,
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
} from 'rate-limiter-flexible'

/**
 * A limiter in this process's memory, or in Redis so that every instance shares it. When Redis
 * cannot answer, the Redis limiter falls back to an in-memory twin (rate-limiter-flexible's
 * insurance limiter): limits keep holding per instance instead of failing open or closed.
 */
export type LimiterFactory = (
  options: IRateLimiterOptions & { keyPrefix: string },
) => RateLimiterAbstract

export function memoryLimiters(prefix: string): LimiterFactory {
  return (options) =>
    new RateLimiterMemory({ ...options, keyPrefix: `${prefix}:${options.keyPrefix}` })
}

export function redisLimiters(redis: Redis, prefix: string): LimiterFactory {
  return (options) => {
    const keyPrefix = `${prefix}:${options.keyPrefix}`
    return new RateLimiterRedis({
      ...options,
      keyPrefix,
      storeClient: redis,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ ...options, keyPrefix }),
    })
  }
}
