// The audit trail as tests read it: the events table and the events' outbox rows read directly
// (as only an insider could), the trail's routes, and requests from a client of one's choosing.
import assert from 'node:assert/strict'
import type { InjectOptions } from 'fastify'
import type { App } from '../../src/app.ts'
import { EVENTS_CHANNEL } from '../../src/events/record.ts'
import { bearer } from './requests.ts'

/** An event as the API shows it. */
export interface TrailEvent {
  id: string
  type: string
  occurred_at: string
  actor: { type: 'user' | 'admin' | 'system'; id: string | null }
  subject: { user_id: string } | null
  address: string | null
  user_agent: string | null
  data: Record<string, unknown>
}

/** The keys of an event, sorted. */
export const EVENT_FIELDS = [
  'actor',
  'address',
  'data',
  'id',
  'occurred_at',
  'subject',
  'type',
  'user_agent',
]

/**
 * Keeps the events' outbox rows where a test can read them: the fan-out to the sinks (which
 * deletes each row once fanned out) stops. Mail and recovery go on as ever.
 */
export async function holdFanOut(app: App): Promise<void> {
  await app.outbox.stop(EVENTS_CHANNEL)
}

/** Every row of the events table as stored, oldest first (data as its stored JSON text). */
export function trailRows(app: App) {
  return app.store.db
    .selectFrom('events')
    .selectAll()
    .orderBy('occurred_at')
    .orderBy('id')
    .execute()
}

/** Every event of the trail, oldest first, in the API's shape. */
export async function trail(app: App): Promise<TrailEvent[]> {
  return (await trailRows(app)).map((row) => ({
    id: row.id,
    type: row.type,
    occurred_at: new Date(row.occurred_at as string | Date).toISOString(),
    actor: { type: row.actor_type as TrailEvent['actor']['type'], id: row.actor_id },
    subject: row.subject_user_id ? { user_id: row.subject_user_id } : null,
    address: row.address,
    user_agent: row.user_agent,
    data: JSON.parse(row.data) as Record<string, unknown>,
  }))
}

/** The payloads of the events channel's outbox rows, as stored (JSON text). */
export async function fanOutPayloads(app: App): Promise<string[]> {
  const rows = await app.store.db
    .selectFrom('outbox')
    .select('payload')
    .where('channel', '=', EVENTS_CHANNEL)
    .execute()
  return rows.map((row) => String(row.payload))
}

export async function countEvents(app: App): Promise<number> {
  return (await trailRows(app)).length
}

export async function countFanOut(app: App): Promise<number> {
  return (await fanOutPayloads(app)).length
}

/** The events of `type` (about `userId`, when given), oldest first. */
export async function eventsOf(
  app: App,
  type: string,
  userId?: string | null,
): Promise<TrailEvent[]> {
  return (await trail(app)).filter(
    (event) =>
      event.type === type && (userId === undefined || (event.subject?.user_id ?? null) === userId),
  )
}

/** The one event of `type` about `userId` (null: about nobody); fails unless exactly one. */
export async function theEvent(app: App, type: string, userId: string | null): Promise<TrailEvent> {
  const found = await eventsOf(app, type, userId)
  assert.equal(found.length, 1, `${type} about ${userId}: ${JSON.stringify(found)}`)
  return found[0] as TrailEvent
}

/**
 * The app as seen from another client: every request through it comes from `address` with
 * `userAgent`, so that the request helpers (support/requests.ts, …) can be used unchanged.
 */
export function from(app: App, address: string, userAgent: string): App {
  const inject = (options: InjectOptions) =>
    app.inject({
      ...options,
      remoteAddress: address,
      headers: { ...options.headers, 'user-agent': userAgent },
    })
  return Object.create(app, { inject: { value: inject } }) as App
}

/** A query string of `query` (values as text), with its "?" when not empty. */
function queryString(query: Record<string, string | number>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) search.set(key, String(value))
  return search.size > 0 ? `?${search}` : ''
}

export function audit(app: App, token: string, query: Record<string, string | number> = {}) {
  return app.inject({ method: 'GET', url: `/audit/${queryString(query)}`, headers: bearer(token) })
}

export function activity(app: App, token: string, query: Record<string, string | number> = {}) {
  const url = `/user/me/activity${queryString(query)}`
  return app.inject({ method: 'GET', url, headers: bearer(token) })
}

/** Follows rel="next" from `first` to the end; every page's items, in order, and the pages. */
export async function allPages(
  app: App,
  token: string,
  first: string,
): Promise<{ items: TrailEvent[]; pages: number }> {
  const items: TrailEvent[] = []
  let url: string | undefined = first
  let pages = 0
  while (url) {
    const res: Awaited<ReturnType<App['inject']>> = await app.inject({
      method: 'GET',
      url,
      headers: bearer(token),
    })
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`)
    const body = res.json() as { items: TrailEvent[]; next_cursor: string | null }
    items.push(...body.items)
    pages++
    url = nextLink(res.headers.link)
    assert.equal(url === undefined, body.next_cursor === null, `${url}: Link and next_cursor`)
    assert.ok(pages < 1000, 'the pages never end')
  }
  return { items, pages }
}

/** The target of a Link header's rel="next", or undefined when there is none. */
export function nextLink(link: unknown): string | undefined {
  if (link === undefined) return undefined
  const match = /^<([^>]+)>; rel="next"$/.exec(String(link))
  assert.ok(match, `a Link header with rel="next": ${String(link)}`)
  return match[1]
}

/**
 * Fails when any secret appears in `texts`. Secrets of digits only (codes) count where they
 * stand on their own (no letter or digit either side): a 6-digit code may occur by chance inside
 * a UUID's hex, and that would be no leak.
 */
export function assertNoSecretIn(texts: string[], secrets: string[], where: string): void {
  assert.ok(texts.length > 0, `nothing in ${where} to look at`)
  const text = texts.join('\n')
  for (const secret of secrets) {
    assert.ok(secret.length >= 6, `a secret this short proves nothing: ${secret}`)
    const leaked = /^\d+$/.test(secret)
      ? new RegExp(`(?<![0-9A-Za-z])${secret}(?![0-9A-Za-z])`).test(text)
      : text.includes(secret)
    assert.ok(!leaked, `${where} holds the secret ${secret}`)
  }
}

/** No key of any event's data names a secret. */
export function assertNoSecretKeys(events: TrailEvent[]): void {
  for (const event of events) {
    for (const key of Object.keys(event.data)) {
      assert.doesNotMatch(key, /password|hash|secret|token|code|key$/i, `${event.type}: ${key}`)
    }
  }
}
