// What administrators ask of the service beyond the user list: another user's events, disabling
// and enabling accounts, signing them out, and webhooks with their deliveries.
import { authed } from './api.js'

/** @typedef {import('./api.js').User} User */
/** @typedef {import('./event-text.js').EventPage} EventPage */
/**
 * A webhook endpoint. `types` null: every event type. `disabled_reason`: why the service
 * disabled it itself (the endpoint answered 410 Gone).
 * @typedef {{ id: string, url: string, types: string[] | null, enabled: boolean, description: string | null, created_at: string, disabled_reason?: string | null }} Webhook
 */
/** @typedef {Webhook & { secret: string }} NewWebhook */
/** @typedef {'pending' | 'delivered' | 'failed'} DeliveryStatus */
/**
 * One event's delivery to one endpoint.
 * @typedef {{ id: string, event_id: string, event_type: string, status: DeliveryStatus, attempts: number, last_status_code: number | null, last_error: string | null, last_attempt_at: string | null, next_attempt_at: string | null, delivered_at: string | null, created_at: string }} Delivery
 */

/** @param {string} id */
const user = (id) => `/user/${encodeURIComponent(id)}`
/** @param {string} id */
const hook = (id) => `/webhooks/${encodeURIComponent(id)}`

/**
 * A list the service gives as `{ items }` (or, defensively, as a bare array).
 * @template T
 * @param {unknown} answer
 * @returns {{ items: T[], next_cursor: string | null }}
 */
function listOf(answer) {
  if (Array.isArray(answer)) return { items: answer, next_cursor: null }
  const page = /** @type {{ items?: unknown, next_cursor?: unknown } | null | undefined} */ (answer)
  return {
    items: Array.isArray(page?.items) ? page.items : [],
    next_cursor: typeof page?.next_cursor === 'string' ? page.next_cursor : null,
  }
}

/**
 * @param {string} id
 * @returns {Promise<User>}
 */
export function getUser(id) {
  return authed('GET', user(id))
}

/**
 * One page of a user's events, newest first (with the reasons users are not told).
 * @param {string} userId
 * @param {number} limit
 * @param {string | undefined} cursor
 * @returns {Promise<EventPage>}
 */
export function userEvents(userId, limit, cursor) {
  const query = new URLSearchParams({ user_id: userId, limit: String(limit) })
  if (cursor) query.set('cursor', cursor)
  return authed('GET', `/audit/?${query}`)
}

/**
 * Disables another account: its sessions end at once and it cannot sign in until enabled.
 * @param {string} id
 * @param {string} [reason] for the audit trail only
 * @returns {Promise<User>}
 */
export function disableUser(id, reason) {
  return authed('POST', `${user(id)}/disable`, reason ? { reason } : {})
}

/**
 * @param {string} id
 * @returns {Promise<User>}
 */
export function enableUser(id) {
  return authed('POST', `${user(id)}/enable`)
}

/**
 * Ends every session of another account, on every device.
 * @param {string} id
 */
export function endUserSessions(id) {
  return authed('DELETE', `${user(id)}/sessions`)
}

/** @returns {Promise<Webhook[]>} */
export async function listWebhooks() {
  return listOf(await authed('GET', '/webhooks/?limit=100')).items.map(
    (/** @type {Webhook} */ item) => item,
  )
}

/**
 * @param {{ url: string, types?: string[], description?: string }} webhook
 * @returns {Promise<NewWebhook>}
 */
export function addWebhook(webhook) {
  return authed('POST', '/webhooks/', webhook)
}

/**
 * Pauses (false) or resumes (true) an endpoint's deliveries.
 * @param {string} id
 * @param {boolean} enabled
 * @returns {Promise<Webhook>}
 */
export function setWebhookEnabled(id, enabled) {
  return authed('PATCH', hook(id), { enabled })
}

/** @param {string} id */
export function deleteWebhook(id) {
  return authed('DELETE', hook(id))
}

/**
 * An endpoint's latest deliveries, newest first; `status` filters them.
 * @param {string} id
 * @param {DeliveryStatus | ''} status
 * @returns {Promise<{ items: Delivery[], next_cursor: string | null }>}
 */
export async function listDeliveries(id, status) {
  const query = new URLSearchParams({ limit: '10' })
  if (status) query.set('status', status)
  return listOf(await authed('GET', `${hook(id)}/deliveries?${query}`))
}

/**
 * Delivers again at once.
 * @param {string} id the endpoint's
 * @param {string} deliveryId
 */
export function retryDelivery(id, deliveryId) {
  return authed('POST', `${hook(id)}/deliveries/${encodeURIComponent(deliveryId)}/retry`)
}
