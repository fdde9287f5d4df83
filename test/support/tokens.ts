// Access tokens as another service sees them, and whether the service still accepts a token.
import assert from 'node:assert/strict'
import { type CryptoKey, decodeProtectedHeader, importJWK, type JWK } from 'jose'
import type { App } from '../../src/app.ts'
import { assertProblem, INVALID_TOKEN_CHALLENGE } from './problems.ts'
import { login, me, refresh } from './requests.ts'

/** What another service passes to jwtVerify for this service's default issuer and audience. */
export const VERIFY = { issuer: 'usersvc', audience: 'usersvc', algorithms: ['EdDSA'] }

export const kidOf = (token: string) => decodeProtectedHeader(token).kid

/**
 * The app's current private key for access tokens (EdDSA), read from its database (as only an
 * insider could).
 */
export async function activeSigningKey(app: App): Promise<{ kid: string; key: CryptoKey }> {
  const row = await app.store.db
    .selectFrom('signing_keys')
    .select(['kid', 'private_jwk'])
    .where('alg', '=', 'EdDSA')
    .where('retired_at', 'is', null)
    .executeTakeFirstOrThrow()
  assert.ok(row.private_jwk)
  const key = (await importJWK(JSON.parse(row.private_jwk) as JWK, 'EdDSA')) as CryptoKey
  return { kid: row.kid, key }
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

/** An access token of a new password-login session of `user` (as a login would start one). */
export async function sessionToken(
  app: App,
  user: Parameters<App['sessions']['start']>[0],
): Promise<string> {
  const pair = await app.sessions.start(
    user,
    { amr: ['pwd'], aal: 'aal1' },
    { userAgent: 'test', address: '127.0.0.1' },
  )
  assert.ok(pair, 'the session started')
  return pair.accessToken
}
