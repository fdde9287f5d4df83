// Waiting for what the code under test does in its own time: one poll loop, one deadline.
import { setTimeout as sleep } from 'node:timers/promises'

/** How long to wait for something the service will do; only a hang ever reaches it. */
export const PATIENCE_MS = 30_000

export interface Wait<T> {
  /** What is waited for, named in the error on timeout: "no <what> within … ms". */
  what: string
  /** Whether a value read is the one waited for; by default, anything but undefined is. */
  until?: (value: T) => boolean
  /** How long to wait: PATIENCE_MS unless told. */
  timeoutMs?: number
  /** A thrown error means "not yet" (the last one is reported on timeout), not a failure. */
  retryErrors?: boolean
  /**
   * On timeout, return the last value read instead of throwing. The caller asserts on it: a
   * wrong value still fails (only later, with the caller's message), and a right one is no
   * longer missed for having been read a moment too early.
   */
  lastOnTimeout?: boolean
}

/**
 * Reads `read()` again, a little less often each time, until the value is the one waited for
 * (see Wait.until), and returns it; on timeout, throws "no <what> within … ms", or returns the
 * last value read (Wait.lastOnTimeout).
 */
export function eventually<T>(
  read: () => T | undefined | Promise<T | undefined>,
  wait: Wait<T | undefined> & { until?: undefined; lastOnTimeout?: false },
): Promise<T>
export function eventually<T>(
  read: () => T | Promise<T>,
  wait: Wait<T> & { until: (value: T) => boolean },
): Promise<T>
export async function eventually<T>(read: () => T | Promise<T>, wait: Wait<T>): Promise<T> {
  const timeoutMs = wait.timeoutMs ?? PATIENCE_MS
  const until = wait.until ?? ((value: T) => value !== undefined)
  const deadline = Date.now() + timeoutMs
  let last: { value: T } | undefined
  let lastError: unknown
  for (let pause = 10; ; pause = Math.min(pause * 2, 100)) {
    try {
      const value = await read()
      if (until(value)) return value
      last = { value }
    } catch (error) {
      if (!wait.retryErrors) throw error
      lastError = error
    }
    if (Date.now() >= deadline) {
      if (wait.lastOnTimeout && last) return last.value
      const error = lastError === undefined ? '' : ` (last error: ${String(lastError)})`
      throw new Error(`no ${wait.what} within ${timeoutMs} ms${error}`)
    }
    await sleep(pause)
  }
}

/** Resolves with `promise`, or rejects after `timeoutMs` (PATIENCE_MS): only a hang gets there. */
export function patiently<T>(promise: Promise<T>, what: string, timeoutMs = PATIENCE_MS) {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
