// Real-time throttle tests: a run too slow to prove anything is recognised and run again.
import type { TestContext } from 'node:test'

// Tests through the app run on real time, and the first back-off step is 1 s whatever the
// configuration (2^0 s once THROTTLE_BACKOFF_AFTER failures are reached). A machine that stalls
// for longer (GC, other test files on a busy CI machine) can let a back-off run out before the
// request meant to meet it. Such a run proves nothing either way: it is recognised by the real
// time it took, and run again. A run that was fast enough must pass every assertion as before.

/** A run too slow to prove anything: run it again (see `conclusively`). */
export class TooSlow extends Error {
  override name = 'TooSlow'
}

/**
 * Milliseconds of real (monotonic) time since it was made. Started before the request that
 * begins a back-off and read after the answer that must meet it, it never counts less than the
 * time the throttle saw between the two.
 */
export function stopwatch(): () => number {
  const start = performance.now()
  return () => performance.now() - start
}

/**
 * Returns when `ok` holds, or when it does not but less than `withinMs` went by on `elapsed`:
 * then the state the answer depended on was certainly still there, and the test's own assertion
 * is left to fail. Otherwise throws TooSlow.
 */
export function unlessTooSlow(
  ok: boolean,
  elapsed: () => number,
  withinMs: number,
  what: string,
): void {
  if (ok) return
  const ms = elapsed()
  if (ms >= withinMs) {
    throw new TooSlow(
      `${what}: ${Math.round(ms)} ms of real time went by (${withinMs} ms would do): the state it depended on may be gone`,
    )
  }
}

/**
 * Runs `scenario` (which builds its own app, so every run starts afresh) until a run ends other
 * than with TooSlow, at most `runs` times; the last TooSlow fails the test.
 */
export async function conclusively(
  t: TestContext,
  scenario: () => Promise<void>,
  runs = 5,
): Promise<void> {
  for (let run = 1; ; run++) {
    try {
      return await scenario()
    } catch (error) {
      if (!(error instanceof TooSlow) || run >= runs) throw error
      t.diagnostic(`run ${run} of ${runs} proved nothing, running it again: ${error.message}`)
    }
  }
}
