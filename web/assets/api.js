/**
 * The usersvc API from the browser: JSON in and out, problem documents as ApiError, and the
 * session. The access token lives only in this module's memory (never in storage or a
 * cookie); the refresh token only in the service's HttpOnly cookie (`?cookie=true`), which
 * scripts cannot read. A reload restores the session from that cookie.
 */
import { ApiError, pageError } from './errors.js'
import { getLocale } from './i18n.js'
import { makePasskey, usePasskey } from './webauthn.js'

export { ApiError }

/**
 * A user as the service shows it. `email` is null when the account has none; `mfa_enabled` says
 * that signing in takes a second step; `disabled_at` when an administrator disabled it (null:
 * it may sign in).
 * @typedef {{ id: string, login: string, role: 'user' | 'admin', registered_at: string, email: string | null, email_verified: boolean, mfa_enabled: boolean, disabled_at: string | null }} User
 */
/** @typedef {{ access_token: string, token_type: string, expires_in: number, user: User }} TokenPair */
/** @typedef {import('./errors.js').Problem} Problem */
/** @typedef {{ min_length: number, max_length: number, refuses_common_passwords: boolean, refuses_login_in_password: boolean }} PasswordPolicy */
/** @typedef {{ items: User[], next_cursor: string | null }} UserPage */
/** @typedef {'signed-in' | 'signed-out' | 'expired'} SessionEvent */
/** @typedef {{ codes: string[], created_at: string }} NewRecoveryCodes */
/** @typedef {{ remaining: number, created_at: string | null }} RecoveryCodesStatus */
/** Whose password is to be recovered: an account by its login, or by its email address. */
/** @typedef {{ login: string } | { email: string }} AccountKey */
/**
 * A second factor: an authenticator app (TOTP) or a passkey.
 * @typedef {{ id: string, type: 'totp' | 'passkey', name: string | null, created_at: string, last_used_at: string | null }} Factor
 */
/** @typedef {{ items: Factor[], recovery_codes_remaining: number }} FactorList */
/** @typedef {{ id: string, secret: string, otpauth_uri: string }} TotpEnrolment */
/**
 * One place where the account is signed in (a refresh-token family).
 * @typedef {{ id: string, created_at: string, last_used_at: string | null, user_agent: string | null, address: string | null, aal: 'aal1' | 'aal2', current: boolean }} Session
 */
/** @typedef {'totp' | 'passkey' | 'recovery_code'} SecondStepMethod */
/**
 * A sign-in waiting for its second step: the password was right. The token dies after a few
 * minutes, once used, or after a few wrong codes.
 * @typedef {{ token: string, methods: SecondStepMethod[], login: string }} SecondStep
 */
/** What signing in with a password gives: a session, or the second step it still needs. */
/** @typedef {{ user: User, step: null } | { user: null, step: SecondStep }} SignInResult */
/** @typedef {{ code: string } | { recovery_code: string } | { credential: object }} SecondStepProof */

/** @type {string | null} */
let accessToken = null
/** @type {User | null} */
let user = null
/** @type {SecondStep | null} */
let pendingStep = null
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
    throw pageError('network')
  }
  if (!response.ok) throw await readProblem(response)
  // 204, and an accepted request (202) may have no body.
  const text = await response.text()
  return text === '' ? undefined : JSON.parse(text)
}

/**
 * A call with the access token. An expired or missing token is renewed from the cookie once;
 * when that fails too, the session is over. (Exported for the admin calls of admin-api.js.)
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 */
export async function authed(method, path, body) {
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

/** @param {TokenPair} pair */
function begin(pair) {
  start(pair)
  emit('signed-in')
  return /** @type {User} */ (user)
}

/**
 * The password step of signing in: a session, or (for an account with a second factor) the
 * second step it still needs.
 * @param {string} login
 * @param {string} password
 * @returns {Promise<SignInResult>}
 */
export async function signIn(login, password) {
  const answer = await send('POST', '/session/?cookie=true', { body: { login, password } })
  if (answer?.mfa_required === true) {
    return { user: null, step: { token: answer.mfa_token, methods: answer.methods, login } }
  }
  return { user: begin(answer), step: null }
}

/**
 * The second step of signing in: a code from the authenticator app, a saved recovery code, or a
 * passkey's signature.
 * @param {SecondStep} step
 * @param {SecondStepProof} proof
 */
export async function completeSignIn(step, proof) {
  return begin(
    await send('POST', '/session/mfa?cookie=true', { body: { mfa_token: step.token, ...proof } }),
  )
}

/**
 * The second step with a passkey: only the account's own passkeys are asked for.
 * @param {SecondStep} step
 */
export async function completeSignInWithPasskey(step) {
  const options = await send('POST', '/session/mfa/passkey/options', {
    body: { mfa_token: step.token },
  })
  return completeSignIn(step, { credential: await usePasskey(options) })
}

/** Request options for signing in with a passkey alone: any of this site's passkeys may answer. */
export function passkeySignInOptions() {
  return send('POST', '/session/passkey/options', { body: {} })
}

/**
 * Signs in with a passkey's answer to passkeySignInOptions (no login, no password).
 * @param {AuthenticationResponseJSON} credential
 */
export async function finishPasskeySignIn(credential) {
  return begin(await send('POST', '/session/passkey?cookie=true', { body: { credential } }))
}

/** Signs in with a passkey alone: the browser asks which of this site's passkeys to use. */
export async function signInWithPasskey() {
  return finishPasskeySignIn(await usePasskey(await passkeySignInOptions()))
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
  // A new account has no second factor: the password alone signs in.
  return /** @type {User} */ ((await signIn(created.login, password)).user)
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
 * Changes the password (which ends every session), then signs in again with the new one. With a
 * second factor, that sign-in waits for its second step: returned then, with the session ended.
 * @param {string} current
 * @param {string} next
 * @returns {Promise<SecondStep | null>}
 */
export async function changePassword(current, next) {
  // Read before the call: only the signed-in account page calls this, and another tab's log-out
  // during the call must not keep it from signing in again.
  const { login } = /** @type {User} */ (user)
  await authed('PUT', '/user/me/password', { current_password: current, new_password: next })
  let result
  try {
    result = await signIn(login, next)
  } catch (error) {
    ended('expired')
    throw error
  }
  if (result.step) {
    pendingStep = result.step
    ended('signed-out')
  }
  return result.step
}

/** A second step left by a password change for the sign-in page to show (once). */
export function takePendingStep() {
  const step = pendingStep
  pendingStep = null
  return step
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

/** The signed-in user as the service now sees it (after a factor came or went). */
export async function reloadUser() {
  return updated(await authed('GET', '/user/me'))
}

/** @returns {Promise<FactorList>} */
export function listFactors() {
  return authed('GET', '/user/me/factors')
}

/**
 * Removes a second factor (an app or a passkey), confirmed by the password.
 * @param {string} id
 * @param {string} password
 */
export function removeFactor(id, password) {
  return authed('DELETE', `/user/me/factors/${encodeURIComponent(id)}`, { password })
}

/**
 * Starts setting up an authenticator app: its secret, pending until a code confirms it.
 * @param {string} password
 * @param {string} [name]
 * @returns {Promise<TotpEnrolment>}
 */
export function startTotp(password, name) {
  return authed('POST', '/user/me/factors/totp', name ? { password, name } : { password })
}

/**
 * @param {string} id
 * @param {string} code the app's current code
 * @returns {Promise<Factor>}
 */
export function confirmTotp(id, code) {
  return authed('POST', `/user/me/factors/totp/${encodeURIComponent(id)}/confirm`, { code })
}

/**
 * Makes a passkey in the browser (or the password manager, or a security key) and registers it.
 * @param {string} [name]
 * @returns {Promise<Factor>}
 */
export async function addPasskey(name) {
  const options = await authed('POST', '/user/me/factors/passkey/options', {})
  const credential = await makePasskey(options)
  return authed('POST', '/user/me/factors/passkey', name ? { name, credential } : { credential })
}

/** @returns {Promise<{ items: Session[] }>} */
export function listSessions() {
  return authed('GET', '/session/')
}

/**
 * Ends one session of the account (another device's): its tokens stop working at once.
 * @param {string} id
 */
export function endSession(id) {
  return authed('DELETE', `/session/${encodeURIComponent(id)}`)
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

/**
 * One page of the caller's own security events, newest first.
 * @param {number} limit
 * @param {string | undefined} cursor
 * @returns {Promise<import('./event-text.js').EventPage>}
 */
export function listActivity(limit, cursor) {
  const query = new URLSearchParams({ limit: String(limit) })
  if (cursor) query.set('cursor', cursor)
  return authed('GET', `/user/me/activity?${query}`)
}

/** @param {string} id */
export function deleteUser(id) {
  return authed('DELETE', `/user/${encodeURIComponent(id)}`)
}

/**
 * What an application asks of the user it sent here to sign in (an OpenID Connect interaction):
 * a sign-in (`login`: `fresh` when the application wants one made for it, whatever session there
 * is) or the user's consent to what it asks (`consent`). Bound to this browser by the provider's
 * cookie: no token needed.
 * @typedef {{ prompt: 'login' | 'consent', reasons: string[], fresh: boolean, client: { client_id: string, name: string, first_party: boolean }, scopes: string[], login_hint?: string }} InteractionDetails
 */
/** @typedef {{ redirect: string }} InteractionResult where the browser goes next */
/**
 * An application the user allowed to sign them in, and what it may see.
 * @typedef {{ client_id: string, client_name: string, scopes: string[], granted_at: string, updated_at: string }} Consent
 */

/** @param {string} uid */
const interactionPath = (uid) => `/oauth2/interaction/${encodeURIComponent(uid)}`

/**
 * @param {string} uid
 * @returns {Promise<InteractionDetails>}
 */
export function interactionDetails(uid) {
  return send('GET', `${interactionPath(uid)}/details`)
}

/**
 * Signs the user in for the application with this page's session (single sign-on).
 * @param {string} uid
 * @returns {Promise<InteractionResult>}
 */
export function interactionLogin(uid) {
  return authed('POST', `${interactionPath(uid)}/login`, {})
}

/**
 * Allows the application what it asked for (remembered until withdrawn).
 * @param {string} uid
 * @returns {Promise<InteractionResult>}
 */
export function interactionConsent(uid) {
  return authed('POST', `${interactionPath(uid)}/consent`, {})
}

/**
 * Declines: the application hears that the user said no (access_denied).
 * @param {string} uid
 * @returns {Promise<InteractionResult>}
 */
export function interactionAbort(uid) {
  return send('POST', `${interactionPath(uid)}/abort`, { body: {} })
}

/** @returns {Promise<{ consents: Consent[] }>} */
export function listConsents() {
  return authed('GET', '/user/me/consents')
}

/**
 * Takes back what the user allowed an application: its tokens end, and it must ask again.
 * @param {string} clientId
 */
export function withdrawConsent(clientId) {
  return authed('DELETE', `/user/me/consents/${encodeURIComponent(clientId)}`)
}

channel?.addEventListener('message', (event) => {
  if (event.data === 'signed-out' && user) {
    clear()
    emit('expired')
  }
})
