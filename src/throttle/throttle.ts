import { RateLimiterRes } from 'rate-limiter-flexible'
import type { ThrottleLimits } from '../config/throttle.ts'
import { AppError } from '../errors.ts'
import { ipv6Groups } from '../ip.ts'
import type { LimiterFactory } from './limiters.ts'

export type { ThrottleLimits } from '../config/throttle.ts'

/** One password check in progress: how it ended. */
interface Attempt {
  failed(): Promise<void>
  succeeded(): Promise<void>
  /** The password was never checked (e.g. 503 overloaded): as if the attempt had not been made. */
  abandoned(): Promise<void>
}

export interface Throttle {
  /** Counts a login attempt from `address`; 429 beyond the per-address rate. */
  loginAttempt(address: string): Promise<void>
  /** Counts a registration from `address`; 429 beyond the per-address rate. */
  registration(address: string): Promise<void>
  /** Counts a recovery request (POST /recovery/) from `address`; 429 beyond the per-address rate. */
  recoveryRequest(address: string): Promise<void>
  /**
   * Runs `check` (a password check of `account` from `address`) unless the account is backing
   * off for this address or for all, or another check past a back-off threshold is running: then
   * 429 rate_limited with Retry-After, and `check` never runs. Its result counts as a failure or
   * a success; if it throws, as if it had not been tried.
   */
  guard(account: string, address: string, check: () => Promise<boolean>): Promise<boolean>
}

/** 2^(n - after) seconds once `after` consecutive failures are reached, capped. */
export function backoffSeconds(failures: number, after: number, maxSeconds: number): number {
  if (failures < after) return 0
  return Math.min(2 ** Math.min(failures - after, 30), maxSeconds)
}

function tooMany(msBeforeNext: number, detail: string): AppError {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000))
  return new AppError('rate_limited', { detail, headers: { 'retry-after': String(seconds) } })
}

export const noThrottle: Throttle = {
  loginAttempt: async () => {},
  registration: async () => {},
  recoveryRequest: async () => {},
  guard: (_account, _address, check) => check(),
}

/** Limits apply to an IPv6 /64 as a whole: one host usually holds all of it. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped?.[1]) return mapped[1]
  const groups = ipv6Groups(address)
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address
}

/**
 * Brute-force protection. Failures are counted per account *and* address, and per account alone:
 * an attacker at one address slows only themselves down on that account; many addresses together
 * slow the account down only after backoffAfterPerAccount failures, and lock it (NIST SP 800-63B
 * §3.2.2: at most 100 consecutive failures) only at failureLimit. The answer while backing off is
 * 429 with Retry-After, given before any password hash is computed.
 */
export function createThrottle(limiter: LimiterFactory, limits: ThrottleLimits): Throttle {
  const window = { points: limits.failureLimit + 1, duration: limits.failureWindowSeconds }
  const failuresByAddress = limiter({ keyPrefix: 'fail:addr', ...window })
  const failuresByAccount = limiter({ keyPrefix: 'fail:acct', ...window })
  // Only block() and get() are used: a key is "blocked" while it holds more than 1 point.
  const blocks = limiter({ keyPrefix: 'block', points: 1, duration: 1 })
  // One point per key: the check running past a threshold; it expires should a process die.
  const inFlight = limiter({ keyPrefix: 'inflight', points: 1, duration: 60 })
  const logins = limiter({
    keyPrefix: 'login:addr',
    points: limits.loginPerAddress.points,
    duration: limits.loginPerAddress.seconds,
  })
  const registrations = limiter({
    keyPrefix: 'register:addr',
    points: limits.registerPerAddress.points,
    duration: limits.registerPerAddress.seconds,
  })
  const recoveries = limiter({
    keyPrefix: 'recovery:addr',
    points: limits.recoveryPerAddress.points,
    duration: limits.recoveryPerAddress.seconds,
  })
  const pair = (account: string, address: string) => `${account}|${address}`

  async function consume(limiterToUse: typeof logins, key: string, detail: string): Promise<void> {
    try {
      await limiterToUse.consume(key)
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) throw tooMany(rejection.msBeforeNext, detail)
      throw rejection
    }
  }

  const blocked = (key: string) =>
    blocks.get(key).then((res) => (res && res.consumedPoints > 1 ? res.msBeforeNext : 0))

  /** Exclusive: at most one check at a time per key once past a back-off threshold. */
  async function enter(key: string): Promise<boolean> {
    try {
      await inFlight.consume(key)
      return true
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return false
      throw rejection
    }
  }

  async function begin(account: string, address: string): Promise<Attempt> {
    const byPair = pair(account, addressKey(address))
    const waits = await Promise.all([blocked(`addr:${byPair}`), blocked(`acct:${account}`)])
    const longest = Math.max(...waits)
    if (longest > 0)
      throw tooMany(longest, 'Too many failed logins for this account; wait and try again.')

    // Counted as a failure before the password is checked, so simultaneous attempts cannot
    // all slip under the threshold; a success takes it back.
    const [pairCount, accountCount] = await Promise.all([
      failuresByAddress.penalty(byPair),
      failuresByAccount.penalty(account),
    ])
    const nPair = pairCount.consumedPoints
    const nAccount = accountCount.consumedPoints
    const gates: string[] = []
    const release = () => Promise.all(gates.map((gate) => inFlight.delete(gate)))
    const takeBack = () =>
      Promise.all([failuresByAddress.reward(byPair), failuresByAccount.reward(account), release()])
    const refuse = async (ms: number) => {
      await takeBack()
      return tooMany(ms, 'Too many failed logins for this account; wait and try again.')
    }
    if (nAccount > limits.failureLimit) throw await refuse(accountCount.msBeforeNext)
    for (const [gate, n, after] of [
      [`addr:${byPair}`, nPair, limits.backoffAfterPerAddress],
      [`acct:${account}`, nAccount, limits.backoffAfterPerAccount],
    ] as const) {
      if (n < after) continue
      if (!(await enter(gate))) throw await refuse(1000)
      gates.push(gate)
    }

    return {
      async failed() {
        const pairWait = backoffSeconds(
          nPair,
          limits.backoffAfterPerAddress,
          limits.backoffMaxSeconds,
        )
        const accountWait =
          nAccount >= limits.failureLimit
            ? Math.ceil(accountCount.msBeforeNext / 1000)
            : backoffSeconds(nAccount, limits.backoffAfterPerAccount, limits.backoffMaxSeconds)
        await Promise.all([
          pairWait > 0 ? blocks.block(`addr:${byPair}`, pairWait) : undefined,
          accountWait > 0 ? blocks.block(`acct:${account}`, accountWait) : undefined,
        ])
        await release()
      },
      async abandoned() {
        await takeBack()
      },
      async succeeded() {
        await Promise.all([
          failuresByAddress.delete(byPair),
          failuresByAccount.delete(account),
          blocks.delete(`acct:${account}`),
          release(),
        ])
      },
    }
  }

  return {
    loginAttempt: (address) =>
      consume(logins, addressKey(address), 'Too many login attempts from this address.'),
    registration: (address) =>
      consume(registrations, addressKey(address), 'Too many registrations from this address.'),
    recoveryRequest: (address) =>
      consume(recoveries, addressKey(address), 'Too many recovery requests from this address.'),

    async guard(account, address, check) {
      const attempt = await begin(account, address)
      let ok: boolean
      try {
        ok = await check()
      } catch (error) {
        await attempt.abandoned()
        throw error
      }
      await (ok ? attempt.succeeded() : attempt.failed())
      return ok
    },
  }
}
