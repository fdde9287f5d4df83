// What a security event says in words: pure functions over the event (no DOM), so that tests can
// check that every type, method and reason the service records has words in every language.
import { describeDevice } from './device.js'

/** @typedef {import('./i18n.js').MessageKey} MessageKey */
/**
 * One event of the audit trail, as GET /audit/ and GET /user/me/activity give it.
 * @typedef {object} AuditEvent
 * @property {string} id
 * @property {string} type
 * @property {string} occurred_at
 * @property {{ type: 'user' | 'admin' | 'system', id: string | null }} actor
 * @property {{ user_id: string } | null} subject
 * @property {string | null} address
 * @property {string | null} user_agent
 * @property {Record<string, unknown>} data
 */
/** @typedef {{ items: AuditEvent[], next_cursor: string | null }} EventPage */
/** @typedef {{ key: MessageKey, params: Record<string, string> }} Phrase */

/** The event types the service records (src/events/catalogue.ts), in its order. */
export const EVENT_TYPES = /** @type {const} */ ([
  'user.registered',
  'user.deleted',
  'user.disabled',
  'user.enabled',
  'user.password_changed',
  'user.email_changed',
  'user.email_verified',
  'session.created',
  'session.ended',
  'session.reuse_detected',
  'login.failed',
  'factor.added',
  'factor.removed',
  'recovery.requested',
  'recovery_codes.generated',
  'signing_key.rotated',
  'oauth.client_added',
  'oauth.client_removed',
  'oauth.consent_given',
  'oauth.consent_withdrawn',
  'oauth.token_issued',
])
/** @typedef {(typeof EVENT_TYPES)[number]} EventType */

const PASSWORD_METHODS = ['change', 'recovery_email', 'recovery_code', 'admin']
const END_REASONS = [
  'logout',
  'logout_all',
  'password_changed',
  'revoked',
  'admin',
  'disabled',
  'deleted',
]
const FAILURE_REASONS = [
  'unknown_login',
  'wrong_password',
  'account_disabled',
  'invalid_code',
  'invalid_passkey',
]

/** The grants a client gets tokens by (src/oidc): each said in its own words. */
const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials']

/** The names the service gives factors that were not named: their kind's, in English. */
const DEFAULT_NAMES = { totp: 'Authenticator app', passkey: 'Passkey' }

/**
 * @param {Record<string, unknown>} data
 * @param {string} name
 */
function text(data, name) {
  const value = data[name]
  return typeof value === 'string' && value !== '' ? value : null
}

/**
 * @param {string | null} value
 * @param {readonly string[]} known
 */
const oneOf = (value, known) => (value !== null && known.includes(value) ? value : null)

/**
 * How the session was signed in to (RFC 8176 amr): a passkey alone, with a second factor after
 * the password, or the password alone.
 * @param {Record<string, unknown>} data
 * @returns {'passkey' | 'mfa' | 'pwd'}
 */
function signInWith(data) {
  const amr = Array.isArray(data.amr) ? data.amr : []
  if (!amr.includes('pwd') && (amr.includes('hwk') || amr.includes('swk'))) return 'passkey'
  if (data.aal === 'aal2' || amr.includes('mfa')) return 'mfa'
  return 'pwd'
}

/**
 * The application an oauth.* event is about: its name where the event has it, else its id.
 * @param {Record<string, unknown>} data
 */
function clientOf(data) {
  return text(data, 'client_name') ?? text(data, 'name') ?? text(data, 'client_id') ?? '?'
}

/**
 * A factor's message: by its kind, with its name when it has one of its own.
 * @param {'added' | 'removed'} what
 * @param {Record<string, unknown>} data
 * @returns {Phrase}
 */
function factorPhrase(what, data) {
  const type = data.factor_type === 'passkey' ? 'passkey' : 'totp'
  const name = text(data, 'name')
  if (name === null || name === DEFAULT_NAMES[type]) {
    return { key: `event.factor.${what}.${type}`, params: {} }
  }
  return { key: `event.factor.${what}.${type}.named`, params: { name } }
}

/**
 * What happened, in a few words. `admin`: as an administrator sees it, with why a sign-in failed
 * (users are never told that).
 * @param {AuditEvent} event
 * @param {{ admin?: boolean }} [options]
 * @returns {Phrase}
 */
export function eventPhrase(event, { admin = false } = {}) {
  const data = event.data ?? {}
  switch (event.type) {
    case 'user.registered':
      // Moved in by an import, with the password hash of the system it came from.
      return { key: data.imported ? 'event.user.imported' : 'event.user.registered', params: {} }
    case 'user.deleted':
    case 'user.disabled':
    case 'user.enabled':
    case 'session.reuse_detected':
    case 'recovery.requested':
    case 'recovery_codes.generated':
    case 'signing_key.rotated':
      return { key: `event.${event.type}`, params: {} }
    case 'user.password_changed': {
      const method = oneOf(text(data, 'method'), PASSWORD_METHODS) ?? 'change'
      return {
        key: /** @type {MessageKey} */ (`event.user.password_changed.${method}`),
        params: {},
      }
    }
    case 'user.email_changed': {
      const email = text(data, 'email')
      return email === null
        ? { key: 'event.user.email_removed', params: {} }
        : { key: 'event.user.email_changed', params: { email } }
    }
    case 'user.email_verified': {
      const email = text(data, 'email')
      return email === null
        ? { key: 'event.user.email_verified.plain', params: {} }
        : { key: 'event.user.email_verified', params: { email } }
    }
    case 'session.created':
      return { key: `event.session.created.${signInWith(data)}`, params: {} }
    case 'session.ended': {
      const reason = oneOf(text(data, 'reason'), END_REASONS) ?? 'other'
      return { key: /** @type {MessageKey} */ (`event.session.ended.${reason}`), params: {} }
    }
    case 'login.failed': {
      const reason = admin ? oneOf(text(data, 'reason'), FAILURE_REASONS) : null
      return reason === null
        ? { key: 'event.login.failed', params: {} }
        : { key: /** @type {MessageKey} */ (`event.login.failed.${reason}`), params: {} }
    }
    case 'oauth.client_added':
    case 'oauth.client_removed':
      return { key: `event.${event.type}`, params: { name: clientOf(data) } }
    case 'oauth.consent_given':
    case 'oauth.consent_withdrawn':
      return { key: `event.${event.type}`, params: { client: clientOf(data) } }
    case 'oauth.token_issued': {
      const grant = oneOf(text(data, 'grant_type'), GRANT_TYPES) ?? 'other'
      return {
        key: /** @type {MessageKey} */ (`event.oauth.token_issued.${grant}`),
        params: { client: clientOf(data) },
      }
    }
    case 'factor.added':
      return factorPhrase('added', data)
    case 'factor.removed':
      return factorPhrase('removed', data)
    default:
      return { key: 'event.unknown', params: { type: String(event.type) } }
  }
}

/**
 * The administrator's own note on disabling an account, for administrators only.
 * @param {AuditEvent} event
 * @param {{ admin?: boolean }} [options]
 */
export function eventNote(event, { admin = false } = {}) {
  if (!admin || event.type !== 'user.disabled') return null
  return text(event.data ?? {}, 'reason')
}

/**
 * The device the event came from in a few words ("Chrome on Linux"): null when there is no
 * User-Agent; `on` is the language's "{browser} on {system}".
 * @param {string | null} userAgent
 * @param {(browser: string, system: string) => string} on
 */
export function shortAgent(userAgent, on) {
  const { browser, system, raw } = describeDevice(userAgent)
  if (browser && system) return on(browser, system)
  return browser ?? system ?? raw
}
