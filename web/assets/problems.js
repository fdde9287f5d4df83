// Which message explains an API error: pure functions over codes (no DOM), so that tests can
// check that every code the service can answer has words in every language.
import en from './messages/en.js'

/** @typedef {import('./i18n.js').MessageKey} MessageKey */

/**
 * @param {string} key
 * @returns {key is MessageKey}
 */
function known(key) {
  return Object.hasOwn(en, key)
}

/**
 * The message for one entry of a problem's `errors`: field-specific when there is one (every
 * *password field shares the password rules), else by code, else the service's own words.
 * @param {string} field
 * @param {string} code
 * @returns {MessageKey}
 */
export function fieldErrorKey(field, code) {
  const family = field.endsWith('password') ? 'password' : field
  const specific = `error.${family}.${code}`
  if (known(specific)) return specific
  const generic = `error.${code}`
  return known(generic) ? generic : 'error.other'
}

/** From this many seconds on, a wait is said in minutes. */
const MINUTES_FROM = 120

/**
 * The number a rate_limited message says: seconds, or whole minutes (rounded up) from two on.
 * @param {number} seconds Retry-After
 */
export function waitCount(seconds) {
  return seconds >= MINUTES_FROM ? Math.ceil(seconds / 60) : seconds
}

/**
 * The message for a problem `code` as a whole. `credentials` says what an invalid_credentials
 * refused (sign-in: login or password; `current`: the password, changing it; `confirm`: the
 * password, deleting or confirming; `passkey`: a passkey); `codes` which code an invalid_code
 * refused (`saved`: a saved recovery code; `otp`: an authenticator app's).
 * @param {string} code
 * @param {{ credentials?: 'current' | 'confirm' | 'passkey', codes?: 'saved' | 'otp', retryAfter?: number }} [context]
 * @returns {MessageKey}
 */
export function problemKey(code, context = {}) {
  if (code === 'invalid_credentials' && context.credentials) {
    return `problem.invalid_credentials.${context.credentials}`
  }
  if (code === 'invalid_code' && context.codes) return `problem.invalid_code.${context.codes}`
  if (code === 'rate_limited' && context.retryAfter === undefined)
    return 'problem.rate_limited.later'
  // A wait of an hour reads better in minutes (see waitCount).
  if (code === 'rate_limited' && (context.retryAfter ?? 0) >= MINUTES_FROM) {
    return 'problem.rate_limited.minutes'
  }
  const key = `problem.${code}`
  return known(key) ? key : 'problem.unknown'
}

/**
 * The field of a form that a problem without `errors` concerns, if any.
 * @param {string} code
 * @param {string} credentialsField the password field of the form
 * @param {string} [codeField] the field of the code an invalid_code refuses
 */
export function problemField(code, credentialsField, codeField = 'code') {
  if (code === 'login_taken') return 'login'
  if (code === 'email_taken') return 'email'
  if (code === 'invalid_credentials') return credentialsField
  if (code === 'invalid_code') return codeField
  return undefined
}
