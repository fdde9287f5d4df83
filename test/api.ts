import assert from 'node:assert/strict'
import type { LightMyRequestResponse } from 'fastify'
import { type CryptoKey, importJWK, type JSONWebKeySet, type JWK } from 'jose'
import type { App } from '../src/app.ts'
import { bearer, login } from './helpers.ts'

// Requests to the service's API and assertions on its answers, shared by the test files.

/** A well-formed uuid that no user has. */
export const NO_SUCH_UUID = '01a2008d-2e29-7252-ac0e-b2345badb6bc'
/** A second password that passes the policy, for password changes. */
export const NEW_PASSWORD = 'a brand new tremendously long passphrase'

export const PROBLEM_JSON = 'application/problem+json; charset=utf-8'
/** WWW-Authenticate when no Bearer token was given. */
export const BEARER_CHALLENGE = 'Bearer realm="usersvc"'
/** WWW-Authenticate when a Bearer token was given and refused. */
export const INVALID_TOKEN_CHALLENGE = 'Bearer realm="usersvc", error="invalid_token"'

/** The fields of a public user (GET /user/me, /user/{id}, POST /user/), sorted. */
export const USER_FIELDS = ['id', 'login', 'registered_at', 'role']
/** The fields of a login or refresh answer, sorted. */
export const SESSION_FIELDS = ['access_token', 'expires_in', 'refresh_token', 'token_type', 'user']

/** What another service passes to jwtVerify for this service's default issuer and audience. */
export const VERIFY = { issuer: 'usersvc', audience: 'usersvc', algorithms: ['EdDSA'] }

const PROBLEM_KEYS = ['code', 'detail', 'errors', 'status', 'title', 'type']

/** An RFC 9457 problem document whose status matches the response's; returns it parsed. */
export function assertProblem(
  res: LightMyRequestResponse,
  status: number,
  code: string,
  what?: string,
) {
  assert.equal(res.statusCode, status, what === undefined ? res.body : `${what}: ${res.body}`)
  assert.equal(res.headers['content-type'], PROBLEM_JSON, what)
  const problem = res.json()
  for (const key of Object.keys(problem)) assert.ok(PROBLEM_KEYS.includes(key), key)
  assert.equal(typeof problem.title, 'string', what)
  assert.ok(problem.title.length > 0, what)
  assert.equal(problem.status, status, what)
  assert.equal(problem.code, code, what)
  assert.equal(problem.type, `/problems/${code}`, what)
  if ('detail' in problem) assert.equal(typeof problem.detail, 'string', what)
  if ('errors' in problem) assert.ok(Array.isArray(problem.errors), what)
  return problem
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

export function health(app: App, probe: 'live' | 'ready') {
  return app.inject({ method: 'GET', url: `/health/${probe}` })
}

/** The published key set; fails the test unless it is a 200. */
export async function jwks(app: App): Promise<JSONWebKeySet> {
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  assert.equal(res.statusCode, 200, res.body)
  return res.json() as JSONWebKeySet
}

/** The access token works at GET /user/me, for that user. */
export async function assertTokenAccepted(app: App, token: string, userId: string, what: string) {
  const res = await me(app, token)
  assert.equal(res.statusCode, 200, `${what}: ${res.body}`)
  assert.equal(res.json().id, userId, what)
}

/** The access token is refused at GET /user/me: 401 invalid_token, with the error challenge. */
export async function assertTokenRejected(app: App, token: string, what: string) {
  const res = await me(app, token)
  assertProblem(res, 401, 'invalid_token', what)
  assert.equal(res.headers['www-authenticate'], INVALID_TOKEN_CHALLENGE, what)
}

/** A deleted user's login, refresh token and access token all fail. */
export async function assertGone(
  app: App,
  loginName: string,
  session: { access_token: string; refresh_token: string },
) {
  assertProblem(await login(app, loginName), 401, 'invalid_credentials')
  assertProblem(await refresh(app, session.refresh_token), 401, 'invalid_refresh_token')
  assertProblem(await me(app, session.access_token), 401, 'invalid_token')
}

export async function userExists(app: App, id: string): Promise<boolean> {
  const row = await app.store.db
    .selectFrom('users')
    .select('id')
    .where('id', '=', id)
    .executeTakeFirst()
  return row !== undefined
}

/** The ids of the user's refresh tokens that are not revoked (its live sessions). */
export async function liveRefreshTokens(app: App, userId: string): Promise<string[]> {
  const rows = await app.store.db
    .selectFrom('refresh_tokens')
    .select('id')
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute()
  return rows.map((row) => row.id)
}

/** The user's password hash as stored. */
export async function storedHash(app: App, id: string): Promise<string> {
  const row = await app.store.db
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
  return row.password_hash
}

/** The app's current private signing key, read from its database (as only an insider could). */
export async function activeSigningKey(app: App): Promise<{ kid: string; key: CryptoKey }> {
  const row = await app.store.db
    .selectFrom('signing_keys')
    .select(['kid', 'private_jwk'])
    .where('retired_at', 'is', null)
    .executeTakeFirstOrThrow()
  assert.ok(row.private_jwk)
  const key = (await importJWK(JSON.parse(row.private_jwk) as JWK, 'EdDSA')) as CryptoKey
  return { kid: row.kid, key }
}
