import type { Db, Dialect } from '../db/schema.ts'
import { outboxRepository } from './repository.ts'

/**
 * What a domain service is given to cause something beyond the database (a mail now, events
 * later): called inside the transaction of the change, so the message exists exactly when the
 * change does, and is delivered after COMMIT by a sender (worker.ts), at least once.
 */
export type Record = (trx: Db, channel: string, payload: unknown) => Promise<void>

/** `recorded` is told the channel, to wake its sender. */
export function recorder(
  dialect: Dialect,
  now: () => Date,
  recorded: (channel: string) => void,
): Record {
  return async (trx, channel, payload) => {
    await outboxRepository(trx, dialect).add(channel, payload, now())
    recorded(channel)
  }
}

/** Many messages on one channel, for a bulk change (an import): multi-row inserts. */
export type RecordMany = (trx: Db, channel: string, payloads: readonly unknown[]) => Promise<void>

export function manyRecorder(
  dialect: Dialect,
  now: () => Date,
  recorded: (channel: string) => void,
): RecordMany {
  return async (trx, channel, payloads) => {
    if (payloads.length === 0) return
    await outboxRepository(trx, dialect).addMany(channel, payloads, now())
    recorded(channel)
  }
}
