import fp from 'fastify-plugin'
import { manyRecorder, type Record, type RecordMany, recorder } from './record.ts'
import { type ChannelStats, type OutboxMessage, outboxRepository } from './repository.ts'
import { createOutboxWorker, type OutboxWorker, type WorkerOptions } from './worker.ts'

export type ConsumeOptions = Pick<
  WorkerOptions,
  'onOutcome' | 'describe' | 'retryForMs' | 'pollMs' | 'leaseMs' | 'batch' | 'deliveredLevel'
>

/**
 * Channels are named destinations ("mail"; later e.g. "webhook:<endpoint>", "nats"). Each has
 * one sender per instance and its own retries per message, so one slow or dead destination
 * never holds up another. An event for several destinations is recorded once per destination,
 * in the same transaction (or fanned out by a consumer of its own channel).
 */
export interface Outbox {
  /** Adds a message inside the caller's transaction (see record.ts). */
  record: Record
  /** Adds many messages on one channel inside the caller's transaction (a bulk change). */
  recordMany: RecordMany
  /**
   * Starts this instance's sender for `channel` (once the app is ready, or at once after); it
   * stops when the app closes, or with `stop`.
   */
  consume(
    channel: string,
    deliver: (message: OutboxMessage) => Promise<void>,
    options?: ConsumeOptions,
  ): void
  /** Stops this instance's sender for `channel` (an endpoint removed); resolves when stopped. */
  stop(channel: string): Promise<void>
  /** How many messages wait on `channel`. */
  waiting(channel: string): Promise<number>
  /** How many wait, and since when the oldest, in one query. */
  stats(channel: string): Promise<ChannelStats>
  /** Runs a pass of `channel`'s sender now; resolves when it is over (tests with a frozen clock). */
  flush(channel: string): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    outbox: Outbox
  }
}

/** The transactional outbox: what changes cause, recorded with them, delivered after. */
export default fp(
  async (app) => {
    const { db, dialect } = app.store
    const workers = new Map<string, OutboxWorker>()
    let ready = false
    // Once the app is ready: messages left by a previous run go out after a restart.
    app.addHook('onReady', async () => {
      ready = true
      for (const worker of workers.values()) worker.start()
    })
    const outbox = outboxRepository(db, dialect)
    const wake = (channel: string) => workers.get(channel)?.wake()
    app.decorate<Outbox>('outbox', {
      record: recorder(dialect, () => app.clock.now(), wake),
      recordMany: manyRecorder(dialect, () => app.clock.now(), wake),
      consume(channel, deliver, options = {}) {
        if (workers.has(channel)) throw new Error(`outbox channel ${channel} has a sender already`)
        const worker = createOutboxWorker({
          db,
          dialect,
          clock: app.clock,
          log: app.log,
          channel,
          deliver,
          ...options,
        })
        workers.set(channel, worker)
        if (ready) worker.start()
      },
      async stop(channel) {
        const worker = workers.get(channel)
        workers.delete(channel)
        await worker?.stop()
      },
      waiting: async (channel) => (await outbox.stats(channel)).waiting,
      stats: (channel) => outbox.stats(channel),
      async flush(channel) {
        const worker = workers.get(channel)
        if (!worker) throw new Error(`outbox channel ${channel} has no sender`)
        await worker.flush()
      },
    })
    app.addHook('preClose', async () => {
      await Promise.all([...workers.values()].map((worker) => worker.stop()))
    })
  },
  { name: 'outbox', dependencies: ['core', 'store'] },
)
