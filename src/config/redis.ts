import Type from 'typebox'
import type { EnvOf } from './env.ts'

// State shared by every instance (today the throttle's counters).
export const env = {
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_KEY_PREFIX: Type.String({ default: 'usersvc', pattern: '^[A-Za-z0-9_.:-]+$' }),
}

export interface RedisConfig {
  url?: string
  keyPrefix: string
}

export function read(e: EnvOf<typeof env>): RedisConfig {
  return { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX }
}
