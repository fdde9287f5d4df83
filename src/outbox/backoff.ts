/** Exponential back-off after failed try number `attempts`: 5 s, 10 s, 20 s … at most an hour. */
export function backoffMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 3600_000)
}

/**
 * When to try a message again after a failure at `now`, or undefined when its retry window is
 * over. The last try falls on the window's end, so failures are retried for the whole window
 * (24 h by default), not until some back-off step before it.
 */
export function nextAttempt(
  message: { createdAt: Date; attempts: number },
  now: Date,
  retryForMs: number,
): Date | undefined {
  const end = message.createdAt.getTime() + retryForMs
  if (now.getTime() >= end) return undefined
  return new Date(Math.min(now.getTime() + backoffMs(message.attempts), end))
}
