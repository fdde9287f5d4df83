import { v7 as uuidv7 } from 'uuid'
import type { Sink } from '../events/plugin.ts'
import type { Record } from '../outbox/record.ts'
import { deliveryRepository } from './deliveries.ts'
import { deliveryMessage } from './delivery.ts'
import { channelOf, webhookRepository } from './repository.ts'

/**
 * The webhooks' event sink: in the fan-out's transaction, one delivery per enabled endpoint that
 * takes the type, and its outbox row on the endpoint's own channel. A fan-out run twice adds
 * nothing (one delivery per endpoint and event).
 */
export function webhookSink(record: Record, now: () => Date): Sink {
  return async (trx, event) => {
    for (const hook of await webhookRepository(trx).enabled()) {
      if (hook.types && !hook.types.includes(event.type)) continue
      const id = uuidv7()
      const added = await deliveryRepository(trx).insert({
        id,
        webhookId: hook.id,
        eventId: event.id,
        eventType: event.type,
        now: now(),
      })
      if (added) await record(trx, channelOf(hook.id), deliveryMessage(id, event))
    }
  }
}
