import Type from 'typebox'
import type { EnvOf } from './env.ts'

// Brute-force limits (throttle/), shared through Redis when REDIS_URL is set (config/redis.ts).
export const env = {
  THROTTLE: Type.Enum(['on', 'off'], { default: 'on' }),
  THROTTLE_LOGIN_PER_ADDRESS: Type.Integer({ default: 60, minimum: 1 }),
  THROTTLE_LOGIN_WINDOW_SECONDS: Type.Integer({ default: 60, minimum: 1 }),
  THROTTLE_REGISTER_PER_ADDRESS: Type.Integer({ default: 30, minimum: 1 }),
  THROTTLE_REGISTER_WINDOW_SECONDS: Type.Integer({ default: 600, minimum: 1 }),
  // POST /recovery/ per client address (never per account: that would tell accounts apart).
  THROTTLE_RECOVERY_PER_ADDRESS: Type.Integer({ default: 10, minimum: 1 }),
  THROTTLE_RECOVERY_WINDOW_SECONDS: Type.Integer({ default: 600, minimum: 1 }),
  THROTTLE_BACKOFF_AFTER: Type.Integer({ default: 5, minimum: 1, maximum: 100 }),
  THROTTLE_ACCOUNT_BACKOFF_AFTER: Type.Integer({ default: 20, minimum: 1, maximum: 100 }),
  THROTTLE_BACKOFF_MAX_SECONDS: Type.Integer({ default: 900, minimum: 1, maximum: 86400 }),
  // NIST SP 800-63B §3.2.2: never more than 100 consecutive failed attempts on one account.
  THROTTLE_FAILURE_LIMIT: Type.Integer({ default: 100, minimum: 1, maximum: 100 }),
  THROTTLE_FAILURE_WINDOW_SECONDS: Type.Integer({ default: 86400, minimum: 60 }),
}

export interface ThrottleLimits {
  /** Login attempts per client address per window. */
  loginPerAddress: { points: number; seconds: number }
  /** Registrations per client address per window. */
  registerPerAddress: { points: number; seconds: number }
  /** Recovery requests (POST /recovery/) per client address per window. */
  recoveryPerAddress: { points: number; seconds: number }
  /** Consecutive failures of one account from one address before back-off starts. */
  backoffAfterPerAddress: number
  /** Consecutive failures of one account from all addresses before back-off starts. */
  backoffAfterPerAccount: number
  /** The longest single back-off. */
  backoffMaxSeconds: number
  /** Consecutive failures of one account after which it is locked for the rest of the window. */
  failureLimit: number
  /** How long failures are remembered (the window of failureLimit). */
  failureWindowSeconds: number
}

/** undefined when THROTTLE=off. */
export function read(e: EnvOf<typeof env>): ThrottleLimits | undefined {
  if (e.THROTTLE === 'off') return undefined
  return {
    loginPerAddress: {
      points: e.THROTTLE_LOGIN_PER_ADDRESS,
      seconds: e.THROTTLE_LOGIN_WINDOW_SECONDS,
    },
    registerPerAddress: {
      points: e.THROTTLE_REGISTER_PER_ADDRESS,
      seconds: e.THROTTLE_REGISTER_WINDOW_SECONDS,
    },
    recoveryPerAddress: {
      points: e.THROTTLE_RECOVERY_PER_ADDRESS,
      seconds: e.THROTTLE_RECOVERY_WINDOW_SECONDS,
    },
    backoffAfterPerAddress: e.THROTTLE_BACKOFF_AFTER,
    backoffAfterPerAccount: e.THROTTLE_ACCOUNT_BACKOFF_AFTER,
    backoffMaxSeconds: e.THROTTLE_BACKOFF_MAX_SECONDS,
    failureLimit: e.THROTTLE_FAILURE_LIMIT,
    failureWindowSeconds: e.THROTTLE_FAILURE_WINDOW_SECONDS,
  }
}
