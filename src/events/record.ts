import { v7 as uuidv7 } from 'uuid'
import type { Db } from '../db/schema.ts'
import type { Record } from '../outbox/record.ts'
import type { Event, RecordEvent } from './catalogue.ts'
import { whoAndWhere } from './context.ts'
import { eventRepository } from './repository.ts'

/** The outbox channel every event goes through on its way to the sinks (fanout.ts). */
export const EVENTS_CHANNEL = 'events'

/**
 * Writes the event into the trail and the outbox, inside the caller's transaction: it exists
 * exactly when the change it describes does (a rollback leaves none), and once that change is
 * acknowledged it is delivered at least once.
 */
export function eventRecorder(record: Record, now: () => Date): RecordEvent {
  return async (trx: Db, input) => {
    const subject = input.userId ?? null
    const { actor, address, user_agent } = whoAndWhere(subject, input.actor)
    const event: Event = {
      id: uuidv7(),
      type: input.type,
      occurred_at: (input.at ?? now()).toISOString(),
      actor,
      subject: subject ? { user_id: subject } : null,
      address,
      user_agent,
      data: input.data ?? {},
    }
    await eventRepository(trx).insert(event)
    await record(trx, EVENTS_CHANNEL, event)
    return event
  }
}
