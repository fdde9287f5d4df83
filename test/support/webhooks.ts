// A real webhook receiver (node:http on 127.0.0.1) that verifies Standard Webhooks signatures,
// and the requests and events the webhook tests send.
import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import { Webhook } from 'standardwebhooks'
import type { App } from '../../src/app.ts'
import type { Event, EventType } from '../../src/events/catalogue.ts'
import { eventually } from './eventually.ts'
import { bearer } from './requests.ts'

export interface Delivery {
  headers: IncomingHttpHeaders
  body: string
  /** When it arrived (ms since the epoch). */
  at: number
}

/** What the receiver answers to its n-th request (0-based): a status, or no answer at all. */
export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang'

export interface Receiver {
  url: string
  /** Every request so far, answered or not. */
  received: Delivery[]
  /** Waits until `count` requests have arrived; returns them all. */
  waitFor(count: number, what?: string, timeoutMs?: number): Promise<Delivery[]>
  /** Drops hanging requests (so the app can close without waiting for its timeout). */
  close(): Promise<void>
}

/** A receiver on `port` (default: a free one); `answer` decides each reply (default 204). */
export async function receiver(
  t: TestContext,
  answer: (index: number, delivery: Delivery) => Answer = () => ({ status: 204 }),
  port = 0,
): Promise<Receiver> {
  const received: Delivery[] = []
  const hanging = new Set<ServerResponse>()
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const delivery = {
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
        at: Date.now(),
      }
      received.push(delivery)
      const reply = answer(received.length - 1, delivery)
      if (reply === 'hang') {
        hanging.add(response)
        return
      }
      response.writeHead(reply.status, reply.headers)
      response.end(reply.body ?? '')
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const bound = (server.address() as AddressInfo).port
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.after(close)
  return {
    url: `http://127.0.0.1:${bound}/hook`,
    received,
    waitFor: (count, what = `${count} deliveries`, timeoutMs = undefined) =>
      eventually(() => received, {
        what,
        until: (all) => all.length >= count,
        ...(timeoutMs ? { timeoutMs } : {}),
      }).then((all) => [...all]),
    close,
  }
}

/** The event a delivery carries, after checking its signature as a receiver would. */
export function verified(secret: string, delivery: Delivery): Event {
  assert.equal(delivery.headers['content-type'], 'application/json')
  const headers = {
    'webhook-id': String(delivery.headers['webhook-id']),
    'webhook-timestamp': String(delivery.headers['webhook-timestamp']),
    'webhook-signature': String(delivery.headers['webhook-signature']),
  }
  const event = new Webhook(secret).verify(delivery.body, headers) as Event
  assert.equal(headers['webhook-id'], event.id)
  return event
}

export interface Created {
  id: string
  secret: string
  url: string
  types: EventType[] | null
  enabled: boolean
}

/** POST /webhooks/ as an admin; fails loudly unless it is a 201. */
export async function addWebhook(
  app: App,
  token: string,
  body: Record<string, unknown>,
): Promise<Created> {
  const res = await app.inject({
    method: 'POST',
    url: '/webhooks/',
    headers: bearer(token),
    payload: body,
  })
  assert.equal(res.statusCode, 201, res.body)
  return res.json() as Created
}

/** An event as a domain action records it, committed (the fan-out delivers it). */
export async function causeEvent(
  app: App,
  type: EventType = 'user.registered',
  data: Record<string, unknown> = { login: 'x' },
): Promise<Event> {
  return app.store.db
    .transaction()
    .execute((trx) => app.events.record(trx, { type, userId: null, data }))
}

/** The endpoint's deliveries as the admin API lists them. */
export async function deliveries(app: App, token: string, id: string, query = '') {
  const res = await app.inject({
    method: 'GET',
    url: `/webhooks/${id}/deliveries${query}`,
    headers: bearer(token),
  })
  assert.equal(res.statusCode, 200, res.body)
  return res.json().items as Array<Record<string, unknown> & { id: string; status: string }>
}

/** Short retries, so a test sees a whole schedule. */
export const FAST_RETRIES = { WEBHOOK_RETRY_SCHEDULE: '0.05,0.05,0.05' }
