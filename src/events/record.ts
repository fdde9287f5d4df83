import { v7 as uuidv7 } from 'uuid'
import type { Db } from '../db/schema.ts'
import type { Record, RecordMany } from '../outbox/record.ts'
import type {
  Event,
  EventType,
  LoginFailureReason,
  NewEvent,
  RecordEvent,
  RecordEvents,
} from './catalogue.ts'
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
    const event = build(input, now)
    await eventRepository(trx).insert(event)
    await record(trx, EVENTS_CHANNEL, event)
    return event
  }
}

/**
 * A change that must come with an event in its transaction, by a folder the change's own code
 * cannot know of (oidc/ ends its grants when sessions end or a password changes).
 */
export type Follower = (trx: Db, event: Event) => Promise<void>

/** `record`, then each follower of the event's type, in the same transaction. */
export function withFollowers(
  record: RecordEvent,
  followers: ReadonlyMap<EventType, readonly Follower[]>,
): RecordEvent {
  return async (trx, input) => {
    const event = await record(trx, input)
    for (const follow of followers.get(event.type) ?? []) await follow(trx, event)
    return event
  }
}

/** The same for a bulk change (an import): the trail rows and the outbox rows, many a statement. */
export function eventsRecorder(recordMany: RecordMany, now: () => Date): RecordEvents {
  return async (trx: Db, inputs) => {
    const events = inputs.map((input) => build(input, now))
    await eventRepository(trx).insertMany(events)
    await recordMany(trx, EVENTS_CHANNEL, events)
    return events
  }
}

/** The event as stored and sent: id and time, and who and from where (see context.ts). */
function build(input: NewEvent, now: () => Date): Event {
  const subject = input.userId ?? null
  const { actor, address, user_agent } = whoAndWhere(subject, input.actor)
  return {
    id: uuidv7(),
    type: input.type,
    occurred_at: (input.at ?? now()).toISOString(),
    actor,
    subject: subject ? { user_id: subject } : null,
    address,
    user_agent,
    data: input.data ?? {},
  }
}

/** An event that is a change of its own (a failed sign-in): recorded in a transaction of its own. */
export function recordAlone(db: Db, record: RecordEvent, event: NewEvent): Promise<Event> {
  return db.transaction().execute((trx) => record(trx, event))
}

/**
 * A failed sign-in, in the trail: about the account when it exists. Who tried is not known, so
 * the actor is nobody in particular.
 */
export function loginFailed(
  db: Db,
  record: RecordEvent,
  userId: string | undefined,
  reason: LoginFailureReason,
  method: string,
): Promise<Event> {
  const data = { reason, method }
  const actor = { type: 'user', id: null } as const
  return recordAlone(db, record, { type: 'login.failed', userId, actor, data })
}
