import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import type { App } from '../src/app.ts'
import { dialects, type Harness, makeApp } from './support/harness.ts'
import { bearer, login, NEW_PASSWORD, PASSWORD, register } from './support/requests.ts'

const WRONG_PASSWORD = 'a wrong guess at the passphrase'

interface Exchange {
  method: string
  url: string
  res: LightMyRequestResponse
}

interface Flow {
  exchanges: Exchange[]
  passwords: string[]
  tokens: string[]
  hashes: string[]
}

async function hashes(app: App): Promise<string[]> {
  const rows = await app.store.db.selectFrom('users').select('password_hash').execute()
  return rows.map((row) => row.password_hash)
}

/** Every secret-bearing step a client goes through, recording what went in and came out. */
async function fullFlow(h: Harness): Promise<Flow> {
  const { app } = h
  const exchanges: Exchange[] = []
  const send = async (options: InjectOptions & { method: string; url: string }) => {
    const res = await app.inject(options)
    exchanges.push({ method: options.method, url: options.url, res })
    return res
  }
  const expect = (res: LightMyRequestResponse, status: number) =>
    assert.equal(res.statusCode, status, res.body)
  const tokens: string[] = []
  const keep = (res: LightMyRequestResponse) => {
    const body = res.json()
    tokens.push(body.access_token, body.refresh_token)
    return body as { access_token: string; refresh_token: string }
  }
  const signIn = (password: string) =>
    send({ method: 'POST', url: '/session/', payload: { login: 'alice', password } })
  const refreshWith = (refreshToken: string) =>
    send({ method: 'POST', url: '/session/refresh', payload: { refresh_token: refreshToken } })

  expect(
    await send({ method: 'POST', url: '/user/', payload: { login: 'alice', password: PASSWORD } }),
    201,
  )
  const hashBefore = await hashes(app)
  const first = await signIn(PASSWORD)
  expect(first, 200)
  const session1 = keep(first)
  const refreshed = await refreshWith(session1.refresh_token)
  expect(refreshed, 200)
  const session2 = keep(refreshed)
  expect(
    await send({ method: 'GET', url: '/user/me', headers: bearer(session2.access_token) }),
    200,
  )
  expect(
    await send({
      method: 'PUT',
      url: '/user/me/password',
      headers: bearer(session2.access_token),
      payload: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    }),
    204,
  )
  const hashAfter = await hashes(app)
  expect(await signIn(WRONG_PASSWORD), 401)
  // A spent refresh token presented again (reuse detection logs a warning: not the token).
  expect(await refreshWith(session1.refresh_token), 401)
  const third = await signIn(NEW_PASSWORD)
  expect(third, 200)
  const session3 = keep(third)
  expect(
    await send({
      method: 'DELETE',
      url: '/session/',
      payload: { refresh_token: session3.refresh_token },
    }),
    204,
  )
  await new Promise(setImmediate) // let the last completion log line be written

  const allHashes = [...hashBefore, ...hashAfter]
  assert.equal(allHashes.length, 2)
  assert.notEqual(allHashes[0], allHashes[1])
  return {
    exchanges,
    passwords: [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD],
    tokens,
    hashes: allHashes,
  }
}

/** The whole secret and the parts of it that alone would be a leak. */
function secretsOf(flow: Flow): string[] {
  const secrets = [...flow.passwords]
  for (const token of flow.tokens) {
    secrets.push(token)
    const parts = token.split('.')
    // refresh: `<id>.<secret>` → the secret; JWT: `<header>.<payload>.<signature>` → the signature
    secrets.push(parts.at(-1) as string)
  }
  for (const hash of flow.hashes) {
    secrets.push(hash)
    const parts = hash.split('$') // $argon2id$v=19$m=…$<salt>$<hash>
    secrets.push(parts.at(-1) as string, parts.at(-2) as string)
  }
  assert.equal(flow.tokens.length, 6)
  for (const secret of secrets) assert.ok(secret.length >= 16, secret)
  return secrets
}

for (const dialect of dialects()) {
  describe(`logging (${dialect})`, () => {
    test('no password, token or password hash ever reaches the log', async (t) => {
      const h = await makeApp(t, { dialect })
      const flow = await fullFlow(h)
      assert.ok(h.logs.length >= flow.exchanges.length)
      for (const secret of secretsOf(flow)) {
        for (const line of h.logs) assert.ok(!line.includes(secret), `${secret} logged: ${line}`)
      }
    })

    test('not even at trace level', async (t) => {
      const h = await makeApp(t, { dialect, env: { LOG_LEVEL: 'trace' } })
      const flow = await fullFlow(h)
      assert.ok(h.logs.length >= flow.exchanges.length)
      for (const secret of secretsOf(flow)) {
        for (const line of h.logs) assert.ok(!line.includes(secret), `${secret} logged: ${line}`)
      }
    })

    test('no response body carries a password hash or says argon2', async (t) => {
      const h = await makeApp(t, { dialect })
      const flow = await fullFlow(h)
      for (const { method, url, res } of flow.exchanges) {
        for (const hash of flow.hashes) {
          assert.ok(!res.body.includes(hash), `${method} ${url}`)
          assert.ok(!res.body.includes(hash.split('$').at(-1) as string), `${method} ${url}`)
        }
        assert.ok(!/argon2/i.test(res.body), `${method} ${url}: ${res.body}`)
        assert.ok(!/argon2/i.test(JSON.stringify(res.headers)), `${method} ${url}`)
      }
    })

    test('exactly one log line per request, with method, url and status', async (t) => {
      const h = await makeApp(t, { dialect })
      const flow = await fullFlow(h)
      const lines = h.logs.map((line) => JSON.parse(line))
      const requests = lines.filter((line) => line.msg === 'request')
      assert.equal(requests.length, flow.exchanges.length, h.logs.join('\n'))
      assert.deepEqual(
        requests.map((line) => [line.method, line.url, line.status]),
        flow.exchanges.map(({ method, url, res }) => [method, url, res.statusCode]),
      )
      for (const line of requests) assert.equal(line.level, 30)
      // One request, one id, one line.
      const ids = requests.map((line) => line.reqId)
      assert.equal(new Set(ids).size, ids.length)
      // Anything else in the log is a warning or worse (here: the refresh token reuse).
      for (const line of lines) {
        if (line.msg !== 'request') assert.ok(line.level >= 40, JSON.stringify(line))
      }
    })

    test('the Authorization header is not logged', async (t) => {
      const h = await makeApp(t, { dialect })
      const { app } = h
      const created = await register(app, 'alice')
      assert.equal(created.statusCode, 201)
      const session = await login(app, 'alice')
      assert.equal(session.statusCode, 200)
      const token = session.json().access_token as string
      const basic = Buffer.from(`alice:${PASSWORD}`).toString('base64')
      const headers = [
        `Bearer ${token}`,
        `Basic ${basic}`,
        'Bearer not-a-real-token-but-still-secret-0123456789',
      ]
      const statuses = []
      for (const authorization of headers) {
        const res = await app.inject({ method: 'GET', url: '/user/me', headers: { authorization } })
        statuses.push(res.statusCode)
      }
      assert.deepEqual(statuses, [200, 401, 401])
      await new Promise(setImmediate)
      const meLines = h.logs.filter((line) => line.includes('/user/me'))
      assert.equal(meLines.length, 3)
      for (const line of h.logs) {
        for (const secret of [
          token,
          token.split('.').at(-1) as string,
          basic,
          'not-a-real-token-but-still-secret-0123456789',
        ]) {
          assert.ok(!line.includes(secret), line)
        }
        assert.ok(!/authorization/i.test(line), line)
      }
    })

    test('a request refused before routing (malformed URL) is logged once too', async (t) => {
      const h = await makeApp(t, { dialect })
      const res = await h.app.inject({ method: 'GET', url: '/user/%zz' })
      assert.ok(res.statusCode >= 400 && res.statusCode < 500)
      await new Promise(setImmediate)
      const requests = h.logs.map((line) => JSON.parse(line)).filter((l) => l.msg === 'request')
      assert.deepEqual(
        requests.map((line) => [line.method, line.url, line.status]),
        [['GET', '/user/%zz', res.statusCode]],
        h.logs.join('\n'),
      )
    })
  })
}
