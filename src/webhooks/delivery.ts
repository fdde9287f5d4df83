import { performance } from 'node:perf_hooks'
import { Webhook as Signer } from 'standardwebhooks'
import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import type { Event } from '../events/catalogue.ts'
import type { OutboxMessage } from '../outbox/repository.ts'
import { PermanentFailure, RetryLater } from '../outbox/worker.ts'
import type { Sealer } from '../tokens/sealing.ts'
import { deliveryRepository } from './deliveries.ts'
import { channelOf, type Webhook, webhookRepository } from './repository.ts'
import type { Attempt } from './schemas.ts'
import { openSecret } from './secrets.ts'

/** What an endpoint's outbox row carries. */
export interface DeliveryMessage {
  delivery_id: string
  event: Event
  /** The delivery's attempts when this schedule began (an admin's retry starts a new one). */
  schedule_from?: number
}

/** delivery_id first: an admin's retry finds a pending row by it (deliveries.ts dueNow). */
export function deliveryMessage(deliveryId: string, event: Event, from = 0): DeliveryMessage {
  return from > 0
    ? { delivery_id: deliveryId, event, schedule_from: from }
    : { delivery_id: deliveryId, event }
}

export const TIMEOUT_MS = 10_000
/** Of an answer's body, this much is read (the rest is not waited for), and this much kept. */
const READ_CAP = 1024
const KEEP_CAP = 256
/** A Retry-After is honoured up to this: a receiver cannot park a delivery for longer. */
const RETRY_AFTER_MAX_MS = 24 * 3600_000
/** A paused endpoint's sender stops within a poll; whatever it claimed meanwhile waits. */
const PAUSED_RETRY_MS = 5000
export const GONE_REASON = 'The endpoint answered 410 Gone'

export interface SenderOptions {
  db: Db
  clock: Clock
  sealer: Sealer
  /** Milliseconds before each retry; after the last, the delivery has failed. */
  retryScheduleMs: number[]
  timeoutMs?: number
  /** The endpoint answered 410 and is disabled now: its sender may stop. */
  gone?(webhookId: string): void
}

/** Seconds or an HTTP date (RFC 9110 §10.2.3), as milliseconds from `now`. */
export function retryAfterMs(value: string | null, now: Date): number | undefined {
  if (!value) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime())
}

/** The start of an answer's body, without waiting for (or holding) the rest. */
async function readCapped(response: Response): Promise<string | null> {
  if (!response.body) return null
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < READ_CAP) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.length
    }
  } catch {
    // A body cut short (or timed out): its start, if any, will do.
  } finally {
    reader.cancel().catch(() => {})
  }
  return Buffer.concat(chunks).subarray(0, READ_CAP).toString('utf8').slice(0, KEEP_CAP)
}

/** A network failure in a few words: never the URL (its query may hold a token). */
function failureText(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timeout'
  const cause = (error as { cause?: { code?: unknown; name?: unknown } }).cause
  if (typeof cause?.code === 'string') return cause.code
  if (typeof cause?.name === 'string') return cause.name
  return error instanceof Error ? error.name : 'error'
}

/** The secrets that sign now: the current one, and the previous for a day after a rotation. */
async function signingSecrets(sealer: Sealer, hook: Webhook, now: Date): Promise<string[]> {
  const secrets = [await openSecret(sealer, hook.id, hook.secret)]
  if (hook.previousSecret && hook.previousSecretUntil && hook.previousSecretUntil > now) {
    secrets.push(await openSecret(sealer, hook.id, hook.previousSecret))
  }
  return secrets
}

interface Answer {
  statusCode: number | null
  error: string | null
  response: string | null
  retryAfterMs?: number
}

async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  now: Date,
): Promise<Answer> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      // A 3xx is an answer like any other non-2xx: following it could lead anywhere.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
    const retryAfter = retryAfterMs(response.headers.get('retry-after'), now)
    return {
      statusCode: response.status,
      error: null,
      response: await readCapped(response),
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
    }
  } catch (error) {
    return { statusCode: null, error: failureText(error), response: null }
  }
}

/**
 * Delivers one endpoint's outbox rows (Standard Webhooks): POSTs the event signed, records each
 * try on its delivery, and tells the outbox when to try again (RetryLater) or to stop
 * (PermanentFailure). Errors carry no secret: they go into logs and the outbox row.
 */
export function webhookSender(options: SenderOptions) {
  const { db, clock, sealer, retryScheduleMs } = options
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS
  const deliveries = deliveryRepository(db)

  return async (webhookId: string, message: OutboxMessage): Promise<void> => {
    const { delivery_id, event, schedule_from = 0 } = message.payload as DeliveryMessage
    const hook = await webhookRepository(db).find(webhookId)
    // Removed meanwhile: nothing to deliver to (its rows went with it).
    if (!hook) return
    if (!hook.enabled) {
      throw new RetryLater(
        'the endpoint is disabled',
        new Date(clock.now().getTime() + PAUSED_RETRY_MS),
      )
    }
    const delivery = await deliveries.find(delivery_id)
    // Settled already: delivered just before a crash, or failed when the endpoint said 410.
    if (delivery?.status !== 'pending') return

    const now = clock.now()
    const body = JSON.stringify(event)
    const signatures = (await signingSecrets(sealer, hook, now)).map((secret) =>
      new Signer(secret).sign(event.id, now, body),
    )
    const started = performance.now()
    const answer = await post(
      hook.url,
      {
        'content-type': 'application/json',
        'webhook-id': event.id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signatures.join(' '),
        'user-agent': 'usersvc-webhooks',
      },
      body,
      timeoutMs,
      now,
    )
    const attempt: Attempt = {
      at: now.toISOString(),
      status_code: answer.statusCode,
      error: answer.error,
      duration_ms: Math.round(performance.now() - started),
      response: answer.response,
    }
    const code = answer.statusCode
    if (code !== null && code >= 200 && code < 300) {
      await deliveries.recordTry(delivery, { status: 'delivered', attempt, nextAttemptAt: null })
      return
    }
    if (code === 410) {
      await db.transaction().execute(async (trx) => {
        const rows = deliveryRepository(trx)
        await rows.recordTry(delivery, { status: 'failed', attempt, nextAttemptAt: null })
        await webhookRepository(trx).disable(hook.id, GONE_REASON, clock.now())
        await rows.failPending(hook.id)
        await trx
          .deleteFrom('outbox')
          .where('channel', '=', channelOf(hook.id))
          .where('id', '!=', message.id)
          .execute()
      })
      options.gone?.(hook.id)
      throw new PermanentFailure('HTTP 410 Gone: the endpoint is disabled')
    }

    const what = code === null ? (answer.error ?? 'error') : `HTTP ${code}`
    const step = retryScheduleMs[delivery.attempts - schedule_from]
    if (step === undefined) {
      await deliveries.recordTry(delivery, { status: 'failed', attempt, nextAttemptAt: null })
      throw new PermanentFailure(`${what}; the retry schedule is over`)
    }
    // Jitter (up to a tenth more), so endpoints back from an outage are not hit all at once.
    let delay = step * (1 + Math.random() * 0.1)
    // Not before the endpoint asked, nor parked for longer than a day.
    if (answer.retryAfterMs !== undefined) {
      delay = Math.min(Math.max(delay, answer.retryAfterMs), RETRY_AFTER_MAX_MS)
    }
    const next = new Date(now.getTime() + Math.round(delay))
    await deliveries.recordTry(delivery, { status: 'pending', attempt, nextAttemptAt: next })
    throw new RetryLater(what, next)
  }
}
