// Cookie sessions (?cookie=true), for the pages: the refresh token travels in an HttpOnly, Secure,
// SameSite=Strict cookie instead of the JSON body, and every request that acts on it must carry an
// Origin of this service (or of ALLOWED_ORIGINS). Also DELETE /session/all. Through `inject`,
// without TLS: the service's own origin is then http://HOST.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../src/app.ts'
import { REFRESH_COOKIE } from '../../src/sessions/cookie.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem, BEARER_CHALLENGE, INVALID_TOKEN_CHALLENGE } from '../support/problems.ts'
import { bearer, login, PASSWORD, refresh, type Session, signUp } from '../support/requests.ts'
import { refreshTokenCount } from '../support/store.ts'
import { assertTokenAccepted } from '../support/tokens.ts'

const HOST = 'usersvc.test'
const OWN_ORIGIN = `http://${HOST}`
const ALLOWED = 'https://pages.example.com'
const ENV = { ALLOWED_ORIGINS: ALLOWED }

type Endpoint = { method: 'POST' | 'DELETE'; url: string }
const LOGIN: Endpoint = { method: 'POST', url: '/session/?cookie=true' }
const REFRESH: Endpoint = { method: 'POST', url: '/session/refresh?cookie=true' }
const LOGOUT: Endpoint = { method: 'DELETE', url: '/session/?cookie=true' }

interface CookieRequest {
  /** The Origin header; none when undefined. */
  origin?: string | undefined
  /** The refresh cookie's value; none when undefined. */
  cookie?: string | undefined
  payload?: Record<string, unknown>
}

function send(app: App, endpoint: Endpoint, options: CookieRequest) {
  return app.inject({
    ...endpoint,
    headers: { host: HOST, ...(options.origin === undefined ? {} : { origin: options.origin }) },
    ...(options.cookie === undefined ? {} : { cookies: { [REFRESH_COOKIE]: options.cookie } }),
    payload: options.payload ?? {},
  })
}

/** A cookie login with that Origin (none when undefined). */
function cookieLogin(app: App, loginName: string, origin: string | undefined) {
  return send(app, LOGIN, { origin, payload: { login: loginName, password: PASSWORD } })
}

/** The refresh cookie the answer sets, with the raw Set-Cookie line. */
function refreshCookieOf(res: LightMyRequestResponse) {
  const header = res.headers['set-cookie']
  const lines = (Array.isArray(header) ? header : header === undefined ? [] : [header]).filter(
    (line) => line.startsWith(`${REFRESH_COOKIE}=`),
  )
  assert.equal(lines.length, 1, `one refresh cookie in ${JSON.stringify(header)}`)
  const cookie = res.cookies.find((c) => c.name === REFRESH_COOKIE)
  assert.ok(cookie, JSON.stringify(res.cookies))
  return { ...cookie, line: lines[0] as string }
}

/** A 200 token answer of a cookie session: the refresh token in the cookie, not in the body. */
function assertCookieSession(res: LightMyRequestResponse, what: string): string {
  assert.equal(res.statusCode, 200, `${what}: ${res.body}`)
  const body = res.json()
  assert.ok(!('refresh_token' in body), `${what}: refresh_token in the body`)
  assert.equal(body.token_type, 'Bearer', what)
  assert.equal(typeof body.access_token, 'string', what)
  const cookie = refreshCookieOf(res)
  assert.ok(cookie.value.length > 0, what)
  const attributes = cookie.line.split(/;\s*/).slice(1)
  for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/session']) {
    assert.ok(attributes.includes(attribute), `${what}: ${attribute} in ${cookie.line}`)
  }
  assert.ok(
    attributes.some((a) => /^Max-Age=[1-9]\d*$/.test(a)),
    `${what}: Max-Age in ${cookie.line}`,
  )
  return cookie.value
}

function assertNoCookie(res: LightMyRequestResponse, what: string) {
  assert.equal(res.headers['set-cookie'], undefined, what)
}

describe('cookie sessions: the Origin check', () => {
  test('without an Origin, or with a foreign one, login, refresh and logout are 403 forbidden and touch nothing', async (t) => {
    const { app } = await makeApp(t, { env: ENV })
    await signUp(app, 'alice')
    const token = assertCookieSession(await cookieLogin(app, 'alice', OWN_ORIGIN), 'cookie login')
    const tokens = await refreshTokenCount(app)
    for (const origin of [undefined, 'https://evil.example', 'http://usersvc.test.evil.example']) {
      const what = `Origin ${origin ?? '(none)'}`
      const loggedIn = await cookieLogin(app, 'alice', origin)
      assertProblem(loggedIn, 403, 'forbidden', `login, ${what}`)
      assertNoCookie(loggedIn, `login, ${what}`)
      for (const [name, endpoint] of [
        ['refresh', REFRESH],
        ['logout', LOGOUT],
      ] as const) {
        const res = await send(app, endpoint, { origin, cookie: token })
        assertProblem(res, 403, 'forbidden', `${name}, ${what}`)
        assertNoCookie(res, `${name}, ${what}`)
      }
    }
    assert.equal(await refreshTokenCount(app), tokens, 'no session was created')
    // The cookie was neither spent nor revoked by the refused requests.
    assertCookieSession(await send(app, REFRESH, { origin: OWN_ORIGIN, cookie: token }), 'after')
  })

  test('the service’s own origin and an ALLOWED_ORIGINS origin pass', async (t) => {
    const { app } = await makeApp(t, { env: ENV })
    await signUp(app, 'alice')
    for (const origin of [OWN_ORIGIN, ALLOWED]) {
      const token = assertCookieSession(await cookieLogin(app, 'alice', origin), `login, ${origin}`)
      const next = assertCookieSession(
        await send(app, REFRESH, { origin, cookie: token }),
        `refresh, ${origin}`,
      )
      const out = await send(app, LOGOUT, { origin, cookie: next })
      assert.equal(out.statusCode, 204, `logout, ${origin}: ${out.body}`)
    }
  })

  test('an origin is compared whole: another scheme or port of the same host is foreign', async (t) => {
    const { app } = await makeApp(t, { env: ENV })
    await signUp(app, 'alice')
    for (const origin of [`https://${HOST}`, `${OWN_ORIGIN}:8080`, `${OWN_ORIGIN}/`]) {
      assertProblem(await cookieLogin(app, 'alice', origin), 403, 'forbidden', origin)
    }
  })
})

describe('cookie sessions: the refresh cookie', () => {
  test('login sets the cookie (HttpOnly; Secure; SameSite=Strict; Path=/session) and leaves refresh_token out of the body', async (t) => {
    const { app } = await makeApp(t, { env: ENV })
    const user = await signUp(app, 'alice')
    const res = await cookieLogin(app, 'alice', OWN_ORIGIN)
    assertCookieSession(res, 'cookie login')
    assert.equal(res.headers['cache-control'], 'no-store')
    await assertTokenAccepted(app, res.json().access_token, user.user.id, 'cookie login')
    // Without ?cookie=true nothing changes: the token is in the body, no cookie is set.
    const plain = await login(app, 'alice')
    assert.equal(plain.statusCode, 200, plain.body)
    assert.equal(typeof plain.json().refresh_token, 'string')
    assertNoCookie(plain, 'plain login')
  })

  test('refresh without the cookie is 204: no session, which is no error (and nothing is set)', async (t) => {
    const { app } = await makeApp(t, { env: ENV })
    await signUp(app, 'alice')
    for (const cookie of [undefined, '']) {
      const res = await send(app, REFRESH, { origin: OWN_ORIGIN, cookie })
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(res.body, '')
      assert.equal(res.headers['cache-control'], 'no-store')
      assertNoCookie(res, `refresh with cookie ${JSON.stringify(cookie)}`)
    }
    // Without ?cookie=true the body must carry the token, as before.
    assertProblem(await refresh(app, undefined), 422, 'validation_failed')
  })

  test('a dead cookie is 401 invalid_refresh_token, and the answer clears it', async (t) => {
    const { app } = await makeApp(t, { env: ENV })
    await signUp(app, 'alice')
    const token = assertCookieSession(await cookieLogin(app, 'alice', OWN_ORIGIN), 'login')
    await send(app, LOGOUT, { origin: OWN_ORIGIN, cookie: token })
    for (const dead of [token, 'not-a-token']) {
      const res = await send(app, REFRESH, { origin: OWN_ORIGIN, cookie: dead })
      assertProblem(res, 401, 'invalid_refresh_token', dead)
      const cleared = refreshCookieOf(res)
      assert.equal(cleared.value, '', cleared.line)
      assert.ok(cleared.line.includes('Path=/session'), cleared.line)
    }
  })

  test('refresh rotates the cookie: a new token, and the old one is spent', async (t) => {
    const { app } = await makeApp(t, { env: ENV })
    const user = await signUp(app, 'alice')
    const first = assertCookieSession(await cookieLogin(app, 'alice', OWN_ORIGIN), 'login')
    const rotated = await send(app, REFRESH, { origin: OWN_ORIGIN, cookie: first })
    const second = assertCookieSession(rotated, 'refresh')
    assert.notEqual(second, first)
    await assertTokenAccepted(app, rotated.json().access_token, user.user.id, 'refreshed')
    const replay = await send(app, REFRESH, { origin: OWN_ORIGIN, cookie: first })
    assertProblem(replay, 401, 'invalid_refresh_token', 'the old cookie again')
    // The cookie's token is an ordinary refresh token: the body works for it too (it was revoked
    // with its family by the replay above).
    assertProblem(await refresh(app, second), 401, 'invalid_refresh_token', 'after the reuse')
  })

  test('logout clears the cookie and revokes its token', async (t) => {
    const { app } = await makeApp(t, { env: ENV })
    await signUp(app, 'alice')
    const token = assertCookieSession(await cookieLogin(app, 'alice', OWN_ORIGIN), 'login')
    const out = await send(app, LOGOUT, { origin: OWN_ORIGIN, cookie: token })
    assert.equal(out.statusCode, 204, out.body)
    assert.equal(out.body, '')
    const cleared = refreshCookieOf(out)
    assert.equal(cleared.value, '', cleared.line)
    const attributes = cleared.line.split(/;\s*/).slice(1)
    assert.ok(
      attributes.includes('Max-Age=0') ||
        attributes.some((a) => a.startsWith('Expires=') && Date.parse(a.slice(8)) <= Date.now()),
      `expired: ${cleared.line}`,
    )
    assert.ok(attributes.includes('Path=/session'), cleared.line)
    assertProblem(
      await send(app, REFRESH, { origin: OWN_ORIGIN, cookie: token }),
      401,
      'invalid_refresh_token',
      'the token after logout',
    )
    // Without a cookie, logout still answers 204 and clears (idempotent).
    const again = await send(app, LOGOUT, { origin: OWN_ORIGIN })
    assert.equal(again.statusCode, 204, again.body)
    assert.equal(refreshCookieOf(again).value, '')
  })
})

for (const dialect of dialects()) {
  describe(`DELETE /session/all (${dialect})`, () => {
    test('204: every refresh token of the caller dies, other users’ survive', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const phone = await signUp(app, 'alice')
      const laptop = (await login(app, 'alice')).json() as Session
      const bob = await signUp(app, 'bob')
      const res = await app.inject({
        method: 'DELETE',
        url: '/session/all',
        headers: bearer(phone.access_token),
      })
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(res.body, '')
      for (const [what, session] of [
        ['phone', phone],
        ['laptop', laptop],
      ] as const) {
        assertProblem(await refresh(app, session.refresh_token), 401, 'invalid_refresh_token', what)
      }
      const bobs = await refresh(app, bob.refresh_token)
      assert.equal(bobs.statusCode, 200, `bob's session: ${bobs.body}`)
      // Alice can log in again: it is her sessions that ended, not her account.
      assert.equal((await login(app, 'alice')).statusCode, 200)
    })

    test('without a token, or with a bad one, 401 invalid_token and nothing is revoked', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const none = await app.inject({ method: 'DELETE', url: '/session/all' })
      assertProblem(none, 401, 'invalid_token', 'no token')
      assert.equal(none.headers['www-authenticate'], BEARER_CHALLENGE)
      const bad = await app.inject({
        method: 'DELETE',
        url: '/session/all',
        headers: bearer(`${alice.access_token}x`),
      })
      assertProblem(bad, 401, 'invalid_token', 'bad token')
      assert.equal(bad.headers['www-authenticate'], INVALID_TOKEN_CHALLENGE)
      const still = await refresh(app, alice.refresh_token)
      assert.equal(still.statusCode, 200, still.body)
    })
  })
}
