/**
 * The usersvc API from the browser: JSON in and out, problem documents as ApiError, and the
 * session. The access token lives only in this module's memory (never in storage or a
 * cookie); the refresh token only in the service's HttpOnly cookie (`?cookie=true`), which
 * scripts cannot read. A reload restores the session from that cookie.
 */
import { getLocale } from './i18n.js'

/**
 * A user as the service shows it. `email` is null when the account has none.
 * @typedef {{ id: string, login: string, role: 'user' | 'admin', registered_at: string, email: string | null, email_verified: boolean }} User
 */
/** @typedef {{ access_token: string, token_type: string, expires_in: number, user: User }} TokenPair */
/** @typedef {{ field: string, code: string, message: string, limit?: number }} FieldError */
/** @typedef {{ status: number, code: string, title?: string, detail?: string, errors?: FieldError[] }} Problem */
/** @typedef {{ min_length: number, max_length: number, refuses_common_passwords: boolean, refuses_login_in_password: boolean }} PasswordPolicy */
/** @typedef {{ items: User[], next_cursor: string | null }} UserPage */
/** @typedef {'signed-in' | 'signed-out' | 'expired'} SessionEvent */
/** @typedef {{ codes: string[], created_at: string }} NewRecoveryCodes */
/** @typedef {{ remaining: number, created_at: string | null }} RecoveryCodesStatus */
/** Whose password is to be recovered: an account by its login, or by its email address. */
/** @typedef {{ login: string } | { email: string }} AccountKey */

/** A refused request: the problem document, or `network` when the service was not reached. */
export class ApiError extends Error {
  /**
   * @param {Problem} problem
   * @param {number | undefined} retryAfter seconds, from Retry-After
   */
  constructor(problem, retryAfter) {
    super(problem.title ?? problem.code)
    this.name = 'ApiError'
    this.status = problem.status
    this.code = problem.code
    this.errors = problem.errors ?? []
    this.retryAfter = retryAfter
  }
}

/** @type {string | null} */
let accessToken = null
/** @type {User | null} */
let user = null
/** @type {ReturnType<typeof setTimeout> | undefined} */
let refreshTimer
/** @type {Promise<boolean> | null} */
let refreshing = null
/** @type {Set<(event: SessionEvent, user: User | null) => void>} */
const listeners = new Set()
// Other tabs of this service hear about log-outs, so they stop showing the account.
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('usersvc') : null

/** @param {(event: SessionEvent, user: User | null) => void} listener */
export function onSession(listener) {
  listeners.add(listener)
}

/** The signed-in user, or null. */
export function currentUser() {
  return user
}

/** @param {SessionEvent} event */
function emit(event) {
  for (const listener of listeners) listener(event, user)
}

/** @param {Response} response */
async function readProblem(response) {
  /** @type {Problem} */
  let problem = { status: response.status, code: 'unknown' }
  try {
    const body = await response.json()
    if (body && typeof body.code === 'string') problem = { ...body, status: response.status }
  } catch {
    // Not a problem document (a proxy's page?): the status alone speaks.
  }
  const retryAfter = Number(response.headers.get('retry-after'))
  return new ApiError(
    problem,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  )
}

/**
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, auth?: boolean }} [options]
 * @returns {Promise<any>}
 */
async function send(method, path, { body, auth = false } = {}) {
  /** @type {Record<string, string>} */
  // Mail the service sends (codes, notices) is in the page's language, whichever the browser's.
  const headers = { accept: 'application/json', 'accept-language': getLocale() }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (auth && accessToken) headers.authorization = `Bearer ${accessToken}`
  let response
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    })
  } catch {
    throw new ApiError({ status: 0, code: 'network' }, undefined)
  }
  if (!response.ok) throw await readProblem(response)
  // 204, and an accepted request (202) may have no body.
  const text = await response.text()
  return text === '' ? undefined : JSON.parse(text)
}

/**
 * A call with the access token. An expired or missing token is renewed from the cookie once;
 * when that fails too, the session is over.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 */
async function authed(method, path, body) {
  if (!accessToken && !(await refresh())) throw sessionEnded()
  try {
    return await send(method, path, { body, auth: true })
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'invalid_token') throw error
    if (!(await refresh())) throw sessionEnded()
    return send(method, path, { body, auth: true })
  }
}

function sessionEnded() {
  const had = user !== null
  clear()
  if (had) emit('expired')
  return new ApiError({ status: 401, code: 'invalid_token' }, undefined)
}

/** @param {TokenPair} pair */
function start(pair) {
  accessToken = pair.access_token
  user = pair.user
  clearTimeout(refreshTimer)
  // Renew a while before expiry: a fifth of the lifetime, at most a minute, ahead.
  const lead = Math.min(60, pair.expires_in / 5)
  refreshTimer = setTimeout(() => void renewInBackground(), (pair.expires_in - lead) * 1000)
}

function clear() {
  accessToken = null
  user = null
  clearTimeout(refreshTimer)
}

async function renewInBackground() {
  try {
    if (!(await refresh()) && user) sessionEnded()
  } catch {
    // The service was not reached: try again shortly, the token is still valid for a while.
    refreshTimer = setTimeout(() => void renewInBackground(), 10_000)
  }
}

/**
 * A new token pair from the refresh cookie: true when there is a session. Refreshes are
 * serialised, within this page and across tabs (Web Locks), because each one spends the cookie's
 * token and presenting a spent one ends the whole session.
 * @returns {Promise<boolean>}
 */
export function refresh() {
  refreshing ??= (async () => {
    const run = async () => {
      try {
        // 204: no cookie, so no session (an answer, not an error).
        const pair = await send('POST', '/session/refresh?cookie=true', { body: {} })
        if (!pair) {
          accessToken = null
          return false
        }
        start(pair)
        return true
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          accessToken = null
          return false
        }
        throw error
      }
    }
    try {
      return navigator.locks ? await navigator.locks.request('usersvc-refresh', run) : await run()
    } finally {
      refreshing = null
    }
  })()
  return refreshing
}

/**
 * On page load: the session of the refresh cookie, if there is one (true then).
 * @returns {Promise<boolean>}
 */
export const restore = () => refresh().catch(() => false)

/**
 * @param {string} login
 * @param {string} password
 */
export async function signIn(login, password) {
  start(await send('POST', '/session/?cookie=true', { body: { login, password } }))
  emit('signed-in')
  return /** @type {User} */ (user)
}

/**
 * Registers, then signs in. The email address is sent only when there is one.
 * @param {string} login
 * @param {string} password
 * @param {string} [email]
 */
export async function signUp(login, password, email) {
  /** @type {User} */
  const created = await send('POST', '/user/', {
    body: email ? { login, password, email } : { login, password },
  })
  return signIn(created.login, password)
}

/**
 * The signed-in user as the service now answers it (after a change of its email address): what
 * currentUser() gives from now on.
 * @param {User} next
 */
function updated(next) {
  if (user && user.id === next.id) user = next
  return next
}

/**
 * Confirms the account's email address with the code mailed to it.
 * @param {string} code
 * @returns {Promise<User>}
 */
export async function verifyEmail(code) {
  return updated(await authed('POST', '/user/me/email/verify', { code }))
}

/** Mails a new code to the account's address (the old code dies). */
export function resendVerification() {
  return authed('POST', '/user/me/email/verification', {})
}

/**
 * Sets (or, with null, removes) the account's email address, confirmed by the password.
 * @param {string | null} email
 * @param {string} password
 * @returns {Promise<User>}
 */
export async function changeEmail(email, password) {
  return updated(await authed('PUT', '/user/me/email', { email, password }))
}

/**
 * Asks for a recovery code by mail. The answer is the same whether the account exists or not.
 * @param {AccountKey} account
 */
export function requestRecovery(account) {
  return send('POST', '/recovery/', { body: account })
}

/**
 * Sets a new password with the code from the recovery mail (every session of the account ends).
 * @param {AccountKey} account
 * @param {string} code
 * @param {string} password
 */
export function completeRecovery(account, code, password) {
  return send('POST', '/recovery/complete', {
    body: { ...account, code, new_password: password },
  })
}

/**
 * Sets a new password with one of the account's saved recovery codes (which is then spent).
 * @param {string} login
 * @param {string} code
 * @param {string} password
 */
export function recoverWithSavedCode(login, code, password) {
  return send('POST', '/recovery/code', {
    body: { login, recovery_code: code, new_password: password },
  })
}

/**
 * A new set of saved recovery codes (the old set stops working), confirmed by the password.
 * @param {string} password
 * @returns {Promise<NewRecoveryCodes>}
 */
export function generateRecoveryCodes(password) {
  return authed('POST', '/user/me/recovery-codes', { password })
}

/** @returns {Promise<RecoveryCodesStatus>} */
export function recoveryCodesStatus() {
  return authed('GET', '/user/me/recovery-codes')
}

/** @param {SessionEvent} event */
function ended(event) {
  clear()
  channel?.postMessage('signed-out')
  emit(event)
}

/** Revokes the refresh cookie's session and clears the cookie. */
function dropCookieSession() {
  return send('DELETE', '/session/?cookie=true', { body: {} })
}

/** Logs out of this browser: the refresh cookie's session is revoked and the cookie cleared. */
export async function signOut() {
  await dropCookieSession()
  ended('signed-out')
}

/** Revokes every session of the account, on every device. */
export async function signOutEverywhere() {
  await authed('DELETE', '/session/all')
  ended('signed-out')
}

/**
 * Changes the password (which ends every session), then signs in again with the new one.
 * @param {string} current
 * @param {string} next
 */
export async function changePassword(current, next) {
  // Read before the call: only the signed-in account page calls this, and another tab's log-out
  // during the call must not keep it from signing in again.
  const { login } = /** @type {User} */ (user)
  await authed('PUT', '/user/me/password', { current_password: current, new_password: next })
  try {
    await signIn(login, next)
  } catch (error) {
    ended('expired')
    throw error
  }
}

/**
 * Deletes the caller's account, confirmed by its password.
 * @param {string} password
 */
export async function deleteAccount(password) {
  await authed('DELETE', '/user/me', { password })
  // The sessions died with the account; this clears the cookie.
  await dropCookieSession().catch(() => {})
  ended('signed-out')
}

/** @returns {Promise<PasswordPolicy>} */
export function passwordPolicy() {
  return send('GET', '/password-policy')
}

/**
 * One page of users (admins).
 * @param {number} limit
 * @param {string | undefined} cursor
 * @returns {Promise<UserPage>}
 */
export function listUsers(limit, cursor) {
  const query = new URLSearchParams({ limit: String(limit) })
  if (cursor) query.set('cursor', cursor)
  return authed('GET', `/user/?${query}`)
}

/** @param {string} id */
export function deleteUser(id) {
  return authed('DELETE', `/user/${encodeURIComponent(id)}`)
}

channel?.addEventListener('message', (event) => {
  if (event.data === 'signed-out' && user) {
    clear()
    emit('expired')
  }
})
