import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config/index.ts'
import { dialects, FAST_ARGON2, makeApp, tempDir } from '../support/harness.ts'
import { assertProblem, PROBLEM_JSON } from '../support/problems.ts'
import {
  bearer,
  health,
  login,
  logout,
  me,
  NO_SUCH_UUID,
  PASSWORD,
  refresh,
  register,
  signUp,
  signUpAdmin,
} from '../support/requests.ts'

function assertSafeHeaders(res: LightMyRequestResponse, cacheControl = 'no-store') {
  assert.equal(res.headers['x-content-type-options'], 'nosniff', `${res.statusCode} ${res.body}`)
  assert.equal(res.headers['cache-control'], cacheControl, `${res.statusCode} ${res.body}`)
}

function post(app: App, url: string, payload: string | Buffer, contentType?: string) {
  return app.inject({
    method: 'POST',
    url,
    payload,
    headers: contentType === undefined ? {} : { 'content-type': contentType },
  })
}

for (const dialect of dialects()) {
  describe(`request bodies and error documents (${dialect})`, () => {
    test('malformed JSON is 400 malformed_json', async (t) => {
      const { app } = await makeApp(t, { dialect })
      for (const body of ['{', '{"login": "alice",}', "{'login':'alice'}", 'nope', '{"a":1}x']) {
        const res = await post(app, '/session/', body, 'application/json')
        assertProblem(res, 400, 'malformed_json')
        assertSafeHeaders(res)
      }
    })

    test('an empty body with content-type application/json is 400 malformed_json', async (t) => {
      const { app } = await makeApp(t, { dialect })
      for (const body of ['', '   ', '\n']) {
        const res = await post(app, '/user/', body, 'application/json')
        assertProblem(res, 400, 'malformed_json')
      }
      const none = await app.inject({
        method: 'POST',
        url: '/session/',
        headers: { 'content-type': 'application/json' },
      })
      assertProblem(none, 400, 'malformed_json')
    })

    test('invalid UTF-8 in the body is 400 malformed_json, not silently replaced', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const bad = [
        Buffer.concat([Buffer.from('{"login":"al'), Buffer.from([0xff]), Buffer.from('ice"}')]),
        Buffer.concat([Buffer.from('{"login":"'), Buffer.from([0xc3]), Buffer.from('"}')]),
        Buffer.concat([
          Buffer.from('{"login":"'),
          Buffer.from([0xed, 0xa0, 0x80]),
          Buffer.from('"}'),
        ]),
      ]
      for (const body of bad) {
        const res = await post(app, '/user/', body, 'application/json')
        assertProblem(res, 400, 'malformed_json')
      }
      assert.equal((await app.store.db.selectFrom('users').select('id').execute()).length, 0)
    })

    test('__proto__ and constructor.prototype keys are refused with 400', async (t) => {
      const { app } = await makeApp(t, { dialect })
      for (const body of [
        '{"__proto__":{"role":"admin"}}',
        '{"login":"mallory","password":"x","__proto__":{"isAdmin":true}}',
        '{"constructor":{"prototype":{}}}',
        '{"login":{"constructor":{"prototype":{"role":"admin"}}}}',
      ]) {
        const res = await post(app, '/user/', body, 'application/json')
        assertProblem(res, 400, 'malformed_json')
      }
      assert.equal((await app.store.db.selectFrom('users').select('id').execute()).length, 0)
      assert.equal(({} as Record<string, unknown>).role, undefined)
    })

    test('a body that is not application/json is 415 unsupported_media_type', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const body = JSON.stringify({ login: 'alice', password: PASSWORD })
      for (const contentType of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        undefined,
      ]) {
        for (const url of ['/user/', '/session/']) {
          const res = await post(app, url, body, contentType)
          assertProblem(res, 415, 'unsupported_media_type')
          assertSafeHeaders(res)
        }
      }
      assert.equal((await app.store.db.selectFrom('users').select('id').execute()).length, 0)
    })

    test('a body over 16 KiB is 413 payload_too_large; 16 KiB exactly is read', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const sized = (bytes: number) => {
        const skeleton = JSON.stringify({ login: 'alice', password: '' })
        return JSON.stringify({ login: 'alice', password: 'p'.repeat(bytes - skeleton.length) })
      }
      const over = sized(16 * 1024 + 1)
      assert.equal(Buffer.byteLength(over), 16 * 1024 + 1)
      const res = await post(app, '/user/', over, 'application/json')
      assertProblem(res, 413, 'payload_too_large')
      assertSafeHeaders(res)
      const huge = await post(app, '/session/', 'x'.repeat(1024 * 1024), 'application/json')
      assertProblem(huge, 413, 'payload_too_large')

      const exact = sized(16 * 1024)
      assert.equal(Buffer.byteLength(exact), 16 * 1024)
      // Within the limit, so it reaches validation (the password is far too long).
      const within = await post(app, '/user/', exact, 'application/json')
      assert.equal(within.statusCode, 422, within.body)
    })

    test('an unknown route is 404 not_found', async (t) => {
      const { app } = await makeApp(t, { dialect })
      for (const [method, url] of [
        ['GET', '/nope'],
        ['GET', '/users/'],
        ['DELETE', '/user/me/password/x'],
      ] as const) {
        const res = await app.inject({ method, url })
        assertProblem(res, 404, 'not_found')
        assertSafeHeaders(res)
      }
    })

    test('a known path with another method is 405 method_not_allowed with Allow', async (t) => {
      const { app } = await makeApp(t, { dialect })
      for (const [method, url, allow] of [
        ['POST', '/health/live', 'GET, HEAD'],
        ['PATCH', '/user/me', 'DELETE, GET, HEAD'],
        ['PATCH', '/session/', 'DELETE, GET, HEAD, POST'],
        ['PUT', `/user/${NO_SUCH_UUID}`, 'DELETE, GET, HEAD'],
        ['GET', '/user/me/password/', 'PUT'],
      ] as const) {
        const res = await app.inject({ method, url })
        assertProblem(res, 405, 'method_not_allowed')
        assert.equal(res.headers.allow, allow, `${method} ${url}`)
        assertSafeHeaders(res)
      }
    })

    test('a malformed URL is still answered with a problem document', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const res = await app.inject({
        method: 'GET',
        url: '/user/%zz',
        headers: bearer(alice.access_token),
      })
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, res.body)
      assert.equal(res.headers['content-type'], PROBLEM_JSON, `${res.statusCode} ${res.body}`)
      assert.equal(res.json().status, res.statusCode)
      assertSafeHeaders(res)
    })

    test('errors of every kind are problem documents with the safe headers', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const cases: Array<[Promise<LightMyRequestResponse>, number, string]> = [
        [login(app, 'alice', 'wrong password entirely'), 401, 'invalid_credentials'],
        [app.inject({ method: 'GET', url: '/user/me' }), 401, 'invalid_token'],
        [refresh(app, 'nope'), 401, 'invalid_refresh_token'],
        [
          app.inject({ method: 'GET', url: '/user/', headers: bearer(alice.access_token) }),
          403,
          'forbidden',
        ],
        [register(app, 'alice'), 409, 'login_taken'],
        [
          app.inject({ method: 'POST', url: '/user/', payload: { login: 1 } }),
          422,
          'validation_failed',
        ],
        [register(app, 'bobby', 'short'), 422, 'password_policy'],
      ]
      for (const [pending, status, code] of cases) {
        const res = await pending
        const problem = assertProblem(res, status, code)
        assertSafeHeaders(res)
        if (status === 422) {
          assert.ok(problem.errors.length > 0)
          for (const error of problem.errors) {
            const keys = Object.keys(error).sort()
            assert.deepEqual(
              keys.filter((k) => k !== 'limit'),
              ['code', 'field', 'message'],
            )
          }
        }
        // Only a 401 about the access token carries a Bearer challenge (RFC 6750 §3).
        if (code === 'invalid_token') {
          assert.match(String(res.headers['www-authenticate']), /^Bearer /)
        } else assert.equal(res.headers['www-authenticate'], undefined, code)
      }
    })

    test('successful responses carry nosniff and no-store; the JWKS is public for 300 s', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      for (const res of [
        await register(app, 'bob'),
        await login(app, 'alice'),
        await me(app, alice.access_token),
        await health(app, 'live'),
        await health(app, 'ready'),
        await logout(app, alice.refresh_token),
      ]) {
        assert.ok(res.statusCode < 300, res.body)
        assertSafeHeaders(res)
      }
      const jwks = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
      assert.equal(jwks.statusCode, 200)
      assertSafeHeaders(jwks, 'public, max-age=300')
      assert.ok(jwks.json().keys.length > 0)
    })

    test('a trailing slash is optional on every path', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const inject = (
        method: 'GET' | 'POST' | 'PUT' | 'DELETE',
        url: string,
        token?: string,
        payload?: object,
      ) =>
        app.inject({
          method,
          url,
          headers: token ? bearer(token) : {},
          ...(payload ? { payload } : {}),
        })
      const admin = await signUpAdmin(app, 'root')

      for (const [url, name] of [
        ['/user', 'alice'],
        ['/user/', 'bob'],
      ]) {
        const res = await inject('POST', url as string, undefined, {
          login: name,
          password: PASSWORD,
        })
        assert.equal(res.statusCode, 201, `POST ${url}: ${res.body}`)
      }
      const sessions = []
      for (const url of ['/session', '/session/', '/session', '/session/']) {
        const res = await inject('POST', url, undefined, { login: 'alice', password: PASSWORD })
        assert.equal(res.statusCode, 200, `POST ${url}: ${res.body}`)
        sessions.push(res.json())
      }
      for (const [i, url] of ['/session/refresh', '/session/refresh/'].entries()) {
        const res = await inject('POST', url, undefined, {
          refresh_token: sessions[i].refresh_token,
        })
        assert.equal(res.statusCode, 200, `POST ${url}: ${res.body}`)
      }
      for (const [i, url] of ['/session', '/session/'].entries()) {
        const res = await inject('DELETE', url, undefined, {
          refresh_token: sessions[i + 2].refresh_token,
        })
        assert.equal(res.statusCode, 204, `DELETE ${url}: ${res.body}`)
      }
      // Not a session logged out above: logging out ends its access token at once.
      const token = sessions[1].access_token
      const aliceId = sessions[1].user.id
      for (const url of ['/user/me', '/user/me/', `/user/${aliceId}`, `/user/${aliceId}/`]) {
        const res = await inject('GET', url, token)
        assert.equal(res.statusCode, 200, `GET ${url}: ${res.body}`)
        assert.equal(res.json().id, aliceId)
      }
      for (const url of ['/user', '/user/', '/user?limit=1', '/user/?limit=1']) {
        const res = await inject('GET', url, admin.access_token)
        assert.equal(res.statusCode, 200, `GET ${url}: ${res.body}`)
        assert.ok(Array.isArray(res.json().items))
      }
      for (const url of ['/health/live', '/health/live/', '/health/ready', '/health/ready/']) {
        const res = await inject('GET', url)
        assert.equal(res.statusCode, 200, `GET ${url}: ${res.body}`)
        assert.equal(res.json().status, 'ok')
      }
      for (const url of ['/.well-known/jwks.json', '/.well-known/jwks.json/']) {
        const res = await inject('GET', url)
        assert.equal(res.statusCode, 200, `GET ${url}: ${res.body}`)
        assert.ok(res.json().keys.length > 0)
      }
      const passwords = ['another passphrase that is long', 'and yet another long passphrase']
      let current = PASSWORD
      for (const [i, url] of ['/user/me/password', '/user/me/password/'].entries()) {
        const fresh = await login(app, 'alice', current)
        assert.equal(fresh.statusCode, 200)
        const next = passwords[i] as string
        const res = await inject('PUT', url, fresh.json().access_token, {
          current_password: current,
          new_password: next,
        })
        assert.equal(res.statusCode, 204, `PUT ${url}: ${res.body}`)
        current = next
      }
      assert.equal((await login(app, 'alice', current)).statusCode, 200)
      const bob = (await login(app, 'bob')).json()
      const alice = (await login(app, 'alice', current)).json()
      for (const url of [`/user/${bob.user.id}`, `/user/${alice.user.id}/`]) {
        const res = await inject('DELETE', url, admin.access_token)
        assert.equal(res.statusCode, 204, `DELETE ${url}: ${res.body}`)
      }
      assert.equal((await app.store.db.selectFrom('users').select('id').execute()).length, 1)
    })
  })
}

describe('an unexpected error', () => {
  test('is a bare 500 internal: nothing internal in the body, everything in the log', async (t) => {
    const dir = await tempDir(t)
    const config = loadConfig({
      ...FAST_ARGON2,
      LOG_LEVEL: 'info',
      DATABASE_URL: `sqlite:${join(dir, 'usersvc.db')}`,
    })
    const logs: string[] = []
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        logs.push(...String(chunk).split('\n').filter(Boolean))
        done()
      },
    })
    const app = buildApp({ config, logStream })
    t.after(() => app.close())
    app.get('/boom', () => {
      throw new Error('secret-internal-detail')
    })
    await app.ready()

    const res = await app.inject({ method: 'GET', url: '/boom' })
    const problem = assertProblem(res, 500, 'internal')
    assert.deepEqual(problem, {
      type: '/problems/internal',
      title: 'Internal server error',
      status: 500,
      code: 'internal',
    })
    assert.ok(!res.body.includes('secret-internal-detail'))
    assert.ok(!res.body.includes('Error'))
    assert.ok(!res.body.includes('.ts'))
    assertSafeHeaders(res)
    assert.ok(
      logs.some((line) => line.includes('secret-internal-detail')),
      `the error is not in the log:\n${logs.join('\n')}`,
    )
    const failed = logs.map((line) => JSON.parse(line)).find((line) => line.level >= 50)
    assert.ok(failed, 'no error-level log line')
    assert.equal(failed.err.message, 'secret-internal-detail')
  })
})
