// Requests to the service's API through app.inject, and the passwords and ids tests send.
import assert from 'node:assert/strict'
import type { JSONWebKeySet } from 'jose'
import type { App } from '../../src/app.ts'

/** The password test users are made with. */
export const PASSWORD = 'correct horse battery staple'
/** A second password that passes the policy, for password changes. */
export const NEW_PASSWORD = 'a brand new tremendously long passphrase'
/** A well-formed uuid that no user has. */
export const NO_SUCH_UUID = '01a2008d-2e29-7252-ac0e-b2345badb6bc'

/** The fields of a public user (GET /user/me, /user/{id}, POST /user/), sorted. */
export const USER_FIELDS = [
  'disabled_at',
  'email',
  'email_verified',
  'id',
  'login',
  'mfa_enabled',
  'registered_at',
  'role',
]
/** The fields of a login or refresh answer, sorted. */
export const SESSION_FIELDS = ['access_token', 'expires_in', 'refresh_token', 'token_type', 'user']

export interface Session {
  access_token: string
  refresh_token: string
  expires_in: number
  token_type: string
  user: {
    id: string
    login: string
    role: string
    registered_at: string
    email: string | null
    email_verified: boolean
  }
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` }
}

export async function register(app: App, login: string, password = PASSWORD) {
  return app.inject({ method: 'POST', url: '/user/', payload: { login, password } })
}

export async function login(app: App, loginName: string, password = PASSWORD) {
  return app.inject({ method: 'POST', url: '/session/', payload: { login: loginName, password } })
}

/** POST /user/ from `address` (request.ip): for the per-address limits. */
export function registerFrom(app: App, address: string, login: string, password = PASSWORD) {
  return app.inject({
    method: 'POST',
    url: '/user/',
    payload: { login, password },
    remoteAddress: address,
  })
}

/** POST /session/ from `address` (request.ip): for the per-address limits. */
export function loginFrom(app: App, address: string, login: string, password = PASSWORD) {
  return app.inject({
    method: 'POST',
    url: '/session/',
    payload: { login, password },
    remoteAddress: address,
  })
}

/** Logs in and returns the session; fails the test loudly unless it is a 200. */
export async function session(app: App, loginName: string, password = PASSWORD): Promise<Session> {
  const res = await login(app, loginName, password)
  if (res.statusCode !== 200) throw new Error(`login ${loginName}: ${res.statusCode} ${res.body}`)
  return res.json() as Session
}

/** Registers and logs in; fails the test loudly if either step does not succeed. */
export async function signUp(app: App, loginName: string, password = PASSWORD): Promise<Session> {
  const created = await register(app, loginName, password)
  if (created.statusCode !== 201)
    throw new Error(`register ${loginName}: ${created.statusCode} ${created.body}`)
  return session(app, loginName, password)
}

/** Makes an admin directly through the service layer, as `usersvc admin create` does. */
export async function signUpAdmin(
  app: App,
  loginName: string,
  password = PASSWORD,
): Promise<Session> {
  await app.users.register(loginName, password, 'admin')
  return session(app, loginName, password)
}

export function me(app: App, token: string) {
  return app.inject({ method: 'GET', url: '/user/me', headers: bearer(token) })
}

/** GET or DELETE /user/{id} as the bearer of `token`. */
export function userById(app: App, method: 'GET' | 'DELETE', token: string, id: string) {
  return app.inject({ method, url: `/user/${id}`, headers: bearer(token) })
}

export function getUser(app: App, token: string, id: string) {
  return userById(app, 'GET', token, id)
}

export function deleteUser(app: App, token: string, id: string) {
  return userById(app, 'DELETE', token, id)
}

/** DELETE /user/me, the caller's own account, confirmed by `password`. */
export function deleteMe(app: App, token: string, password = PASSWORD) {
  return app.inject({
    method: 'DELETE',
    url: '/user/me',
    headers: bearer(token),
    payload: { password },
  })
}

export function changePassword(app: App, token: string, payload: Record<string, unknown>) {
  return app.inject({ method: 'PUT', url: '/user/me/password', headers: bearer(token), payload })
}

/** `refreshToken` is unknown: tests also send what is not a string. */
export function refresh(app: App, refreshToken: unknown) {
  return app.inject({
    method: 'POST',
    url: '/session/refresh',
    payload: { refresh_token: refreshToken },
  })
}

export function logout(app: App, refreshToken: unknown) {
  return app.inject({
    method: 'DELETE',
    url: '/session/',
    payload: { refresh_token: refreshToken },
  })
}

/** GET /session/: the caller's sessions. */
export function listSessions(app: App, token: string) {
  return app.inject({ method: 'GET', url: '/session/', headers: bearer(token) })
}

/** DELETE /session/{id}: end one of the caller's sessions. */
export function endSession(app: App, token: string, id: string) {
  return app.inject({ method: 'DELETE', url: `/session/${id}`, headers: bearer(token) })
}

/** POST /session/mfa: the second step of a login, with one proof. */
export function secondStep(app: App, mfaToken: unknown, proof: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: '/session/mfa',
    payload: { mfa_token: mfaToken, ...proof },
  })
}

/** /health/ready of a single instance with all well (no Redis configured). */
export const READY = {
  status: 'ok',
  checks: { database: 'ok', signing_key: 'ok', mail: 'ok', webhooks: 'ok' },
}
/** /health/ready with the database down (or unable to take writes). */
export const NOT_READY = { status: 'unavailable', checks: { database: 'down', signing_key: 'ok' } }

export function health(app: App, probe: 'live' | 'ready') {
  return app.inject({ method: 'GET', url: `/health/${probe}` })
}

/** The published key set; fails the test unless it is a 200. */
export async function jwks(app: App): Promise<JSONWebKeySet> {
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  assert.equal(res.statusCode, 200, res.body)
  return res.json() as JSONWebKeySet
}
