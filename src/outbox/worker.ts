import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../clock.ts'
import type { Db, Dialect } from '../db/schema.ts'
import { nextAttempt } from './backoff.ts'
import { type OutboxMessage, outboxRepository } from './repository.ts'

/** A delivery that must not be tried again (a mail server's 5xx, say): the message is dropped. */
export class PermanentFailure extends Error {
  override name = 'PermanentFailure'
}

/** A delivery to try again at a time the channel chose itself (its own schedule, a Retry-After). */
export class RetryLater extends Error {
  override name = 'RetryLater'
  readonly at: Date
  constructor(message: string, at: Date) {
    super(message)
    this.at = at
  }
}

export type Outcome = 'sent' | 'retry' | 'dropped'

export interface WorkerOptions {
  db: Db
  dialect: Dialect
  clock: Clock
  log: FastifyBaseLogger
  channel: string
  /**
   * Delivers one message; throws to fail (PermanentFailure: never again; RetryLater: at its time;
   * else: after the back-off, within `retryForMs`). The error's
   * message goes into log lines and the row's last_error: it must hold no secret of the payload.
   */
  deliver(message: OutboxMessage): Promise<void>
  /** Told what became of each message, for metrics. */
  onOutcome?(outcome: Outcome, message: OutboxMessage): void
  /** What log lines may say about a message besides its id (a masked address; never a secret). */
  describe?(message: OutboxMessage): Record<string, unknown>
  /** The level of a delivery's log line: debug for an internal hop (the events fan-out). */
  deliveredLevel?: 'info' | 'debug'
  /** How long failures are retried before the message is dropped (default 24 h). */
  retryForMs?: number
  pollMs?: number
  leaseMs?: number
  batch?: number
}

const DEFAULTS = { retryForMs: 24 * 3600_000, pollMs: 1000, leaseMs: 120_000, batch: 10 }
// After a commit that recorded something: soon, but after the COMMIT has landed. The recorder
// wakes the sender inside the transaction, so a pass that finds nothing looks again a little
// later each time (15, 30, 60 … ms) until the poll interval.
const WAKE_DELAY_MS = 15

function errorText(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500)
}

/**
 * The sender of one channel, in every instance: claims due messages (leased, so instances never
 * deliver one twice at once), delivers them, deletes what went out, and retries the rest with
 * back-off for `retryForMs`. A message is removed only after its delivery, so a crash before
 * that (kill -9) means it is delivered again after the restart: at least once.
 */
export function createOutboxWorker(options: WorkerOptions) {
  const { db, dialect, clock, log, channel, deliver } = options
  const { retryForMs, pollMs, leaseMs, batch } = { ...DEFAULTS, ...options }
  const outbox = outboxRepository(db, dialect)
  let timer: NodeJS.Timeout | undefined
  // When the scheduled pass runs (epoch ms, real time: timers are real even with a test clock).
  let timerAt = Number.POSITIVE_INFINITY
  let running: Promise<void> | undefined
  let stopped = false
  // Woken while a pass was under way: that pass may have looked before the new message existed.
  let wokenMeanwhile = false
  // Set by a wake: the delay of the next quick look, until one finds something or reaches pollMs.
  let quickMs: number | undefined

  function about(message: OutboxMessage): Record<string, unknown> {
    let described: Record<string, unknown> = {}
    try {
      described = options.describe?.(message) ?? {}
    } catch {
      // A payload the describer cannot read: the id is enough to find it.
    }
    return { channel, id: message.id, attempts: message.attempts, ...described }
  }

  async function failed(message: OutboxMessage, error: unknown): Promise<void> {
    const cause = errorText(error)
    const refused = error instanceof PermanentFailure
    const next = refused
      ? undefined
      : error instanceof RetryLater
        ? error.at
        : nextAttempt(message, clock.now(), retryForMs)
    if (next) {
      await outbox.retryAt(message.id, message.attempts, next, cause)
      options.onOutcome?.('retry', message)
      log.warn(
        { ...about(message), retryAt: next.toISOString(), cause },
        'outbox: delivery failed; will try again',
      )
      return
    }
    await outbox.remove(message.id, message.attempts)
    options.onOutcome?.('dropped', message)
    log.error(
      { ...about(message), cause },
      refused
        ? 'outbox: delivery refused for good; message dropped'
        : 'outbox: delivery kept failing for the whole retry window; message dropped',
    )
  }

  async function settle(message: OutboxMessage): Promise<void> {
    try {
      await deliver(message)
    } catch (error) {
      await failed(message, error)
      return
    }
    await outbox.remove(message.id)
    options.onOutcome?.('sent', message)
    log[options.deliveredLevel ?? 'info'](about(message), 'outbox: delivered')
  }

  /** One pass: everything due now, batch after batch; how many messages it settled. */
  async function drain(): Promise<number> {
    let settled = 0
    while (!stopped) {
      const now = clock.now()
      if (!(await outbox.due(channel, now))) return settled
      const leaseUntil = now.getTime() + leaseMs
      const claimed = await outbox.claim(channel, now, batch, new Date(leaseUntil))
      if (claimed.length === 0) return settled
      for (const [index, message] of claimed.entries()) {
        if (stopped) {
          // Stopping (a graceful restart): the rest go back at once, not when the lease ends.
          for (const rest of claimed.slice(index)) await outbox.release(rest.id, rest.attempts)
          return settled
        }
        // Slow deliveries ate half the lease: extend it before the next, or leave it to whoever
        // took it over, so no two senders ever hold one message.
        const at = clock.now().getTime()
        if (at > leaseUntil - leaseMs / 2) {
          const held = await outbox.extendLease(
            message.id,
            message.attempts,
            new Date(at + leaseMs),
          )
          if (!held) continue
        }
        await settle(message)
        settled++
      }
    }
    return settled
  }

  function schedule(delayMs: number): void {
    if (stopped) return
    clearTimeout(timer)
    timerAt = Date.now() + delayMs
    timer = setTimeout(() => {
      timerAt = Number.POSITIVE_INFINITY
      void run()
    }, delayMs)
    timer.unref()
  }

  function nextDelay(settled: number): number {
    if (wokenMeanwhile) {
      wokenMeanwhile = false
      quickMs = WAKE_DELAY_MS
      return WAKE_DELAY_MS
    }
    if (settled === 0 && quickMs !== undefined && quickMs * 2 < pollMs) {
      quickMs *= 2
      return quickMs
    }
    quickMs = undefined
    return pollMs
  }

  function run(): Promise<void> {
    running ??= drain()
      .catch((error: unknown) => {
        // The store may be away for a while: the next pass tries again.
        log.warn({ channel, cause: errorText(error) }, 'outbox: pass failed')
        return 0
      })
      .then((settled) => {
        running = undefined
        schedule(nextDelay(settled))
      })
    return running
  }

  return {
    start(): void {
      schedule(0)
    },
    /** Something was just recorded: look soon rather than at the next poll. */
    wake(): void {
      if (running) {
        wokenMeanwhile = true
        return
      }
      quickMs = WAKE_DELAY_MS
      // A pass due sooner stays: records one after another must not push it back for ever.
      if (timerAt > Date.now() + WAKE_DELAY_MS) schedule(WAKE_DELAY_MS)
    },
    /** A pass that begins now; resolves when it has finished (tests move a frozen clock, then this). */
    async flush(): Promise<void> {
      while (running) await running
      if (!stopped) await run()
    },
    /** Stops polling; resolves when the pass in progress has finished. */
    async stop(): Promise<void> {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}

export type OutboxWorker = ReturnType<typeof createOutboxWorker>
