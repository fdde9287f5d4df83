import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseOptions } from '@node-rs/argon2'
import { countingHasher, dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import {
  login,
  PASSWORD,
  register,
  SESSION_FIELDS,
  type Session,
  signUp,
} from '../support/requests.ts'
import { storedHash } from '../support/store.ts'
import { assertTokenAccepted } from '../support/tokens.ts'

/**
 * The headers a client could tell two answers apart by: all but the date (the clock) and the
 * request id (new for every request, whatever its outcome).
 */
function comparableHeaders(headers: Record<string, unknown>) {
  const { date: _date, 'x-request-id': _id, ...rest } = headers
  return rest
}

for (const dialect of dialects()) {
  describe(`POST /session/ (${dialect})`, () => {
    test('200: a Bearer token pair and the public user, not to be cached', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const created = (await register(app, 'Ivan')).json()
      const res = await login(app, 'Ivan')
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
      const body = res.json() as Session
      assert.deepEqual(Object.keys(body).sort(), SESSION_FIELDS)
      assert.equal(body.token_type, 'Bearer')
      assert.equal(body.expires_in, 900)
      assert.match(body.access_token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
      assert.match(
        body.refresh_token,
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/,
      )
      assert.deepEqual(body.user, {
        id: created.id,
        login: 'Ivan',
        role: 'user',
        registered_at: created.registered_at,
        email: null,
        email_verified: false,
        mfa_enabled: false,
        disabled_at: null,
      })
      // The access token is accepted at once.
      await assertTokenAccepted(app, body.access_token, created.id, 'the new access token')
    })

    test('expires_in follows ACCESS_TOKEN_TTL_SECONDS', async (t) => {
      const { app } = await makeApp(t, { dialect, env: { ACCESS_TOKEN_TTL_SECONDS: '120' } })
      const session = await signUp(app, 'shortlived')
      assert.equal(session.expires_in, 120)
    })

    test('the login is matched case-insensitively and after NFKC; the stored spelling is kept', async (t) => {
      const { app } = await makeApp(t, { dialect })
      assert.equal((await register(app, 'Ivan')).statusCode, 201)
      for (const spelling of ['Ivan', 'IVAN', 'ivan', 'iVaN', 'Ｉｖａｎ' /* full-width */]) {
        const res = await login(app, spelling)
        assert.equal(res.statusCode, 200, `${spelling}: ${res.body}`)
        assert.equal(res.json().user.login, 'Ivan', spelling)
      }
      assert.equal((await register(app, 'Straße')).statusCode, 201)
      const folded = await login(app, 'STRASSE')
      assert.equal(folded.statusCode, 200, folded.body)
      assert.equal(folded.json().user.login, 'Straße')
    })

    test('every login is a new session: distinct refresh and access tokens', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await register(app, 'twice')
      const a = (await login(app, 'twice')).json() as Session
      const b = (await login(app, 'twice')).json() as Session
      assert.notEqual(a.refresh_token, b.refresh_token)
      assert.notEqual(a.access_token, b.access_token)
      const rows = await app.store.db.selectFrom('refresh_tokens').select('family_id').execute()
      assert.equal(rows.length, 2)
      assert.equal(new Set(rows.map((r) => r.family_id)).size, 2)
    })

    test('the refresh token is stored only as a hash', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'hashme')
      const [id, secret] = session.refresh_token.split('.') as [string, string]
      const row = await app.store.db
        .selectFrom('refresh_tokens')
        .selectAll()
        .executeTakeFirstOrThrow()
      assert.equal(row.id, id)
      assert.equal(row.family_id, id)
      assert.equal(row.user_id, session.user.id)
      assert.notEqual(row.token_hash, secret)
      assert.ok(!JSON.stringify(row).includes(secret))
      assert.equal(row.used_at, null)
      assert.equal(row.revoked_at, null)
    })

    test('unknown login and wrong password: byte-identical 401 invalid_credentials', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await register(app, 'alice')
      const wrongPassword = await login(app, 'alice', 'not the right password at all')
      const unknownLogin = await login(app, 'nobody-here', 'not the right password at all')
      for (const res of [wrongPassword, unknownLogin]) {
        assertProblem(res, 401, 'invalid_credentials')
        // No access token was involved: no Bearer challenge (RFC 6750 §3).
        assert.equal(res.headers['www-authenticate'], undefined)
        assert.equal(res.headers['cache-control'], 'no-store')
      }
      assert.equal(unknownLogin.body, wrongPassword.body)
      assert.deepEqual(
        comparableHeaders(unknownLogin.headers),
        comparableHeaders(wrongPassword.headers),
      )
      // No session was made by either.
      assert.equal(
        (await app.store.db.selectFrom('refresh_tokens').select('id').execute()).length,
        0,
      )
    })

    test('an unknown login costs one argon2 verification, just like a wrong password', async (t) => {
      const counting = await countingHasher()
      const { app } = await makeApp(t, { dialect, hasher: counting.hasher })
      assert.equal((await register(app, 'alice')).statusCode, 201)
      assert.equal(counting.calls.hash, 1)

      counting.reset()
      const wrong = await login(app, 'alice', 'not the right password at all')
      assert.equal(wrong.statusCode, 401)
      assert.deepEqual(counting.calls, { hash: 0, verify: 1, verifyDummy: 0 })

      counting.reset()
      const unknown = await login(app, 'nobody-here', 'not the right password at all')
      assert.equal(unknown.statusCode, 401)
      assert.deepEqual(counting.calls, { hash: 0, verify: 0, verifyDummy: 1 })
      assert.equal(unknown.body, wrong.body)

      counting.reset()
      const ok = await login(app, 'alice')
      assert.equal(ok.statusCode, 200)
      // Same parameters as the hasher's: verified once, not rehashed.
      assert.deepEqual(counting.calls, { hash: 0, verify: 1, verifyDummy: 0 })
    })

    test('a malformed login is the same 401 invalid_credentials (after a dummy verify), not 422', async (t) => {
      const counting = await countingHasher()
      const { app } = await makeApp(t, { dialect, hasher: counting.hasher })
      await register(app, 'alice')
      const reference = await login(app, 'nobody-here', 'whatever password')
      for (const name of [' x', 'x', 'ivan ', '.ivan', 'iv an', 'x'.repeat(65), 'iv\u0000an']) {
        counting.reset()
        const res = await login(app, name, 'whatever password')
        assert.equal(res.statusCode, 401, `${JSON.stringify(name)}: ${res.body}`)
        assert.equal(res.json().code, 'invalid_credentials')
        assert.equal(res.body, reference.body)
        assert.equal(res.headers['www-authenticate'], undefined)
        assert.deepEqual(
          counting.calls,
          { hash: 0, verify: 0, verifyDummy: 1 },
          JSON.stringify(name),
        )
      }
      // White space is not trimmed at login either: " alice" is not alice.
      const padded = await login(app, ' alice')
      assert.equal(padded.statusCode, 401)
      assert.equal(padded.json().code, 'invalid_credentials')
    })

    test('missing or mistyped fields are 422 validation_failed naming them', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const cases: Array<[unknown, string[]]> = [
        [{ login: 'alice' }, ['password:required']],
        [{ password: PASSWORD }, ['login:required']],
        [{ login: 42, password: PASSWORD }, ['login:invalid_type']],
        [{ login: 'alice', password: '' }, ['password:too_short']],
        [{ login: 'alice', password: PASSWORD, role: 'admin' }, ['role:unknown_property']],
      ]
      for (const [payload, expected] of cases) {
        const res = await app.inject({
          method: 'POST',
          url: '/session/',
          payload: payload as object,
        })
        assert.equal(res.statusCode, 422, JSON.stringify(payload))
        assert.equal(res.json().code, 'validation_failed')
        const got = res
          .json()
          .errors.map((e: { field: string; code: string }) => `${e.field}:${e.code}`)
        for (const e of expected)
          assert.ok(got.includes(e), `${JSON.stringify(payload)} → ${res.body}`)
      }
    })

    test('rehash on login when the argon2 parameters changed; not on a wrong password', async (t) => {
      const first = await makeApp(t, { dialect })
      const created = await register(first.app, 'rehashme')
      assert.equal(created.statusCode, 201)
      const id = created.json().id
      const original = await storedHash(first.app, id)
      assert.match(original, /^\$argon2id\$v=19\$m=256,t=1,p=1\$/)

      const second = await makeApp(t, {
        databaseUrl: first.databaseUrl,
        env: { ARGON2_MEMORY_KIB: '512', ARGON2_TIME_COST: '2' },
      })
      const wrong = await login(second.app, 'rehashme', 'not the right password at all')
      assert.equal(wrong.statusCode, 401)
      assert.equal(wrong.json().code, 'invalid_credentials')
      assert.equal(await storedHash(second.app, id), original)

      const ok = await login(second.app, 'rehashme')
      assert.equal(ok.statusCode, 200, ok.body)
      const rehashed = await storedHash(second.app, id)
      assert.notEqual(rehashed, original)
      assert.match(rehashed, /^\$argon2id\$v=19\$m=512,t=2,p=1\$/)
      const params = parseOptions(rehashed)
      assert.equal(params.memoryCost, 512)
      assert.equal(params.timeCost, 2)
      assert.ok(!rehashed.includes(PASSWORD))

      // The password still works, and a hash that is up to date is left alone.
      const again = await login(second.app, 'rehashme')
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(await storedHash(second.app, id), rehashed)
      // And the new hash is still a wrong-password 401 for the wrong password.
      assert.equal((await login(second.app, 'rehashme', 'nope nope nope nope')).statusCode, 401)
    })
  })
}
