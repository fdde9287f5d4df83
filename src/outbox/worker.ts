import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../clock.ts'
import type { Db, Dialect } from '../db/schema.ts'
import { type OutboxMessage, outboxRepository } from './repository.ts'

/** A delivery that must not be tried again (a mail server's 5xx, say): the message is dropped. */
export class PermanentFailure extends Error {
  override name = 'PermanentFailure'
}

export interface WorkerOptions {
  db: Db
  dialect: Dialect
  clock: Clock
  log: FastifyBaseLogger
  channel: string
  /** Delivers one message; throws to fail (PermanentFailure: never again; else: later). */
  deliver(message: OutboxMessage): Promise<void>
  /** Told what became of each message, for metrics. */
  onOutcome?(outcome: 'sent' | 'retry' | 'dropped', message: OutboxMessage): void
  /** How long failures are retried before the message is dropped (default 24 h). */
  retryForMs?: number
  pollMs?: number
  leaseMs?: number
  batch?: number
}

const DEFAULTS = { retryForMs: 24 * 3600_000, pollMs: 1000, leaseMs: 60_000, batch: 10 }
// After a commit that recorded something: soon, but after the COMMIT has landed.
const WAKE_DELAY_MS = 15

/** Exponential back-off: 5 s, 10 s, 20 s … at most an hour between tries. */
export function backoffMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 3600_000)
}

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
  let running: Promise<void> | undefined
  let stopped = false
  // Woken while a pass was under way: that pass may have looked before the new message existed.
  let wokenMeanwhile = false

  async function settle(message: OutboxMessage): Promise<void> {
    try {
      await deliver(message)
      await outbox.remove(message.id)
      options.onOutcome?.('sent', message)
      return
    } catch (error) {
      const now = clock.now()
      const next = new Date(now.getTime() + backoffMs(message.attempts))
      const expired = next.getTime() - message.createdAt.getTime() > retryForMs
      if (error instanceof PermanentFailure || expired) {
        await outbox.remove(message.id)
        options.onOutcome?.('dropped', message)
        log.error(
          { channel, id: message.id, attempts: message.attempts, cause: errorText(error) },
          error instanceof PermanentFailure
            ? 'outbox: delivery refused for good; message dropped'
            : 'outbox: delivery kept failing for the whole retry window; message dropped',
        )
        return
      }
      await outbox.retryAt(message.id, next, errorText(error))
      options.onOutcome?.('retry', message)
      log.warn(
        { channel, id: message.id, attempts: message.attempts, cause: errorText(error) },
        'outbox: delivery failed; will try again',
      )
    }
  }

  /** One pass: everything due now, batch after batch. */
  async function drain(): Promise<void> {
    while (!stopped) {
      const now = clock.now()
      if (!(await outbox.due(channel, now))) return
      const claimed = await outbox.claim(channel, now, batch, new Date(now.getTime() + leaseMs))
      if (claimed.length === 0) return
      for (const message of claimed) await settle(message)
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return
    clearTimeout(timer)
    timer = setTimeout(run, delayMs)
    timer.unref()
  }

  function run(): void {
    if (running) return
    running = drain()
      .catch((error: unknown) => {
        // The store may be away for a while: the next pass tries again.
        log.warn({ channel, cause: errorText(error) }, 'outbox: pass failed')
      })
      .finally(() => {
        running = undefined
        schedule(wokenMeanwhile ? WAKE_DELAY_MS : pollMs)
        wokenMeanwhile = false
      })
  }

  return {
    start(): void {
      schedule(0)
    },
    /** Something was just recorded: look soon rather than at the next poll. */
    wake(): void {
      if (running) wokenMeanwhile = true
      else schedule(WAKE_DELAY_MS)
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
