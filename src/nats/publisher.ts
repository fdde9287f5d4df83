import type { JetStreamClient, PubAck } from 'nats'
import { NatsError } from 'nats'
import type { Event } from '../events/catalogue.ts'
import type { OutboxMessage } from '../outbox/repository.ts'
import { RetryLater } from '../outbox/worker.ts'

/** How long to wait for the PubAck: well under half the lease (see plugin.ts). */
export const PUBLISH_TIMEOUT_MS = 5000

/** A failed publish is tried again soon: 1 s, 2 s, 4 s … at most 30 s, never given up. */
export function retryDelayMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempts - 1), 30_000)
}

export interface PublisherOptions {
  stream: string
  subjectPrefix: string
  /** The JetStream client while connected with the stream in place; undefined otherwise. */
  client(): JetStreamClient | undefined
  now(): Date
  /** A publish nobody answered (503): the stream may be gone; the link checks it again. */
  noResponders(): void
  /** The stream had it already: an earlier try went through, its ack or removal was lost. */
  duplicate(message: OutboxMessage): void
}

const encoder = new TextEncoder()

/**
 * Delivers one outbox row: the event on `<prefix>.<type>`, its id as Nats-Msg-Id so JetStream
 * drops a second copy within its duplicate window. It resolves only on the PubAck (a duplicate
 * ack included: the event is stored), so the row is removed only once JetStream holds the event.
 */
export function natsPublisher(options: PublisherOptions) {
  return async (message: OutboxMessage): Promise<void> => {
    const event = message.payload as Event
    const later = () => new Date(options.now().getTime() + retryDelayMs(message.attempts))
    const js = options.client()
    if (!js) throw new RetryLater('NATS is not connected', later())
    let ack: PubAck
    try {
      ack = await js.publish(
        `${options.subjectPrefix}.${event.type}`,
        encoder.encode(JSON.stringify(event)),
        {
          msgID: event.id,
          timeout: PUBLISH_TIMEOUT_MS,
          // Into our stream or not at all: another stream capturing the subject is a misconfiguration.
          expect: { streamName: options.stream },
        },
      )
    } catch (error) {
      if (error instanceof NatsError && error.code === '503') options.noResponders()
      const cause = error instanceof Error ? error.message : String(error)
      throw new RetryLater(`NATS publish failed: ${cause}`, later())
    }
    if (ack.duplicate) options.duplicate(message)
  }
}

/** What log lines say about a row: the event's id and type (no address, no user agent). */
export function describeEvent(message: OutboxMessage): Record<string, unknown> {
  const event = message.payload as Event
  return { event: event.id, type: event.type }
}
