// Property-based tests of the rules a request body meets before anything else (SQLite): flawed
// text in a login or password, valid registrations, duplicate keys, and the 16 KiB limit.
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Accounts } from '../support/fuzz/accounts.ts'
import {
  CHANGE_PASSWORD,
  invalidUtf8,
  isUtf8,
  LIMIT,
  LOGIN,
  LOGOUT,
  REGISTER,
} from '../support/fuzz/bodies.ts'
import { type Req, send, show } from '../support/fuzz/send.ts'
import { assertSameStore, assertUserCreated, snapshot } from '../support/fuzz/store.ts'
import { strongPassword, validLogin } from '../support/fuzz/text.ts'
import { countingHasher, makeApp } from '../support/harness.ts'
import { assertClientError, assertProblem } from '../support/problems.ts'
import { PASSWORD } from '../support/requests.ts'

describe('fuzzing request bodies (sqlite)', () => {
  test('invalid UTF-8, lone surrogates, NUL and control characters in a login or password never create a user or a session', async (t) => {
    const { app } = await makeApp(t)
    await new Accounts(app).init()
    const flaw = fc.oneof(
      fc.record({ kind: fc.constant('bytes' as const), bytes: invalidUtf8 }),
      fc.record({
        kind: fc.constant('escape' as const),
        text: fc.constantFrom(
          '\\ud800',
          '\\udfff',
          '\\udc00\\ud800',
          '\\u0000',
          '\\u0007',
          '\\u001f',
          '\\u007f',
          '\\u0085',
        ),
      }),
      fc.record({
        kind: fc.constant('raw' as const),
        text: fc.constantFrom('\u0000', '\u0001', '\n', '\t', '\u001f'),
      }),
    )
    const flawed = fc.record({
      endpoint: fc.constantFrom(REGISTER, LOGIN),
      login: validLogin,
      password: strongPassword,
      field: fc.constantFrom('login', 'password'),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      flaw,
    })
    await fc.assert(
      fc.asyncProperty(flawed, async (f) => {
        const values = { login: f.login, password: f.password }
        const value = values[f.field as 'login' | 'password']
        const i = Math.floor(f.at * value.length)
        // The flaw goes inside the JSON string of the field, between two of its characters.
        const mark = '\u{10FFFF}'
        values[f.field as 'login' | 'password'] = `${value.slice(0, i)}${mark}${value.slice(i)}`
        const [head, tail] = JSON.stringify(values).split(mark) as [string, string]
        const middle =
          f.flaw.kind === 'bytes' ? Buffer.from(f.flaw.bytes) : Buffer.from(f.flaw.text)
        const payload = Buffer.concat([Buffer.from(head), middle, Buffer.from(tail)])
        const req: Req = {
          method: 'POST',
          url: f.endpoint.url,
          headers: { 'content-type': 'application/json' },
          payload,
        }
        const what = show(req)
        const before = await snapshot(app)
        const res = await send(app, req)
        const after = await snapshot(app)
        if (f.flaw.kind === 'escape') {
          // Valid JSON whose string is not a valid login or password.
          assert.ok(isUtf8(payload))
          const expected = f.endpoint === REGISTER ? [422] : [401, 429]
          assert.ok(expected.includes(res.statusCode), `${what} → ${res.statusCode} ${res.body}`)
          assertClientError(res, 'POST', what)
        } else {
          assertProblem(res, 400, 'malformed_json', what)
        }
        assertSameStore(before, after, what)
      }),
      { numRuns: 500 },
    )
    // The flawed logins were never registered under their clean spelling either.
    assert.equal((await snapshot(app)).users.length, 2, 'only alice and root exist')
  })

  test('a valid login and a strong password register (201); the same login again is 409', async (t) => {
    const { app } = await makeApp(t)
    await fc.assert(
      fc.asyncProperty(validLogin, strongPassword, async (login, password) => {
        const req: Req = {
          method: 'POST',
          url: '/user/',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ login, password }),
        }
        const what = show(req)
        const taken = (await snapshot(app)).users.some((u) => u.login === login)
        const before = await snapshot(app)
        const res = await send(app, req)
        const after = await snapshot(app)
        if (taken) {
          assertProblem(res, 409, 'login_taken', what)
          assertSameStore(before, after, what)
          return
        }
        assert.equal(res.statusCode, 201, `${what} → ${res.statusCode} ${res.body}`)
        assertUserCreated(before, after, res, login, what)
        const again = await send(app, req)
        assertProblem(again, 409, 'login_taken', `${what} (again)`)
        assertSameStore(after, await snapshot(app), `${what} (again)`)
      }),
      { numRuns: 300 },
    )
  })

  test('duplicate keys in a body are refused with a 4xx and create nothing', async (t) => {
    const { app } = await makeApp(t)
    const accounts = await new Accounts(app).init()
    // Each body is a valid request whichever copy of the repeated key a parser keeps.
    const duplicated = fc
      .record({
        endpoint: fc.constantFrom(REGISTER, LOGIN, LOGOUT),
        logins: fc.tuple(validLogin, validLogin),
        passwords: fc.tuple(strongPassword, strongPassword),
        repeat: fc.constantFrom('first', 'second', 'both'),
        order: fc.boolean(),
        ownLogin: fc.boolean(),
      })
      .map((r) => {
        const members: string[] = []
        const member = (k: string, v: string) =>
          members.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`)
        if (r.endpoint === LOGOUT) {
          member('refresh_token', `${r.logins[0]}.x`)
          member('refresh_token', `${r.logins[1]}.y`)
        } else {
          const [k1, k2] = r.endpoint.fields as [string, string]
          const login2 = r.endpoint === LOGIN && r.ownLogin ? 'alice' : r.logins[1]
          const password2 = r.endpoint === LOGIN && r.ownLogin ? PASSWORD : r.passwords[1]
          const pairs: Array<[string, string]> = [
            [k1, r.logins[0]],
            [k2, r.passwords[0]],
          ]
          if (r.repeat !== 'second') pairs.push([k1, login2])
          if (r.repeat !== 'first') pairs.push([k2, password2])
          if (r.order) pairs.reverse()
          for (const [k, v] of pairs) member(k, v)
        }
        return { endpoint: r.endpoint, text: `{${members.join(',')}}` }
      })
    await fc.assert(
      fc.asyncProperty(duplicated, async ({ endpoint, text }) => {
        const req: Req = {
          method: endpoint.method,
          url: endpoint.url,
          headers: { 'content-type': 'application/json' },
          payload: text,
        }
        const what = show(req)
        const before = await snapshot(app)
        const res = await send(app, req)
        const after = await snapshot(app)
        assertClientError(res, endpoint.method, `a body with a duplicate key: ${what}`)
        assertSameStore(before, after, what)
      }),
      { numRuns: 100 },
    )
    const users = (await snapshot(app)).users.map((u) => [u.login, u.id]).sort()
    assert.deepEqual(
      users,
      [
        ['alice', accounts.alice.id],
        ['root', accounts.root.id],
      ],
      'only alice and root exist',
    )
  })

  test('a body over 16 KiB (up to a 1 MiB password) is 413 before any hashing', async (t) => {
    const counting = await countingHasher()
    const { app } = await makeApp(t, { hasher: counting.hasher })
    const accounts = await new Accounts(app).init()
    const oversized = fc.record({
      endpoint: fc.constantFrom(REGISTER, LOGIN, CHANGE_PASSWORD),
      size: fc.integer({ min: LIMIT + 1, max: 1024 * 1024 }),
      unit: fc.constantFrom('p', 'é', '😀', ' '),
      framing: fc.constantFrom('content-length', 'stream'),
    })
    type Oversized = typeof oversized extends fc.Arbitrary<infer R> ? R : never
    const examples: Array<[Oversized]> = [
      [{ endpoint: REGISTER, size: 1024 * 1024, unit: 'p', framing: 'content-length' }],
      [{ endpoint: LOGIN, size: 1024 * 1024, unit: 'p', framing: 'stream' }],
      [{ endpoint: CHANGE_PASSWORD, size: 1024 * 1024, unit: 'p', framing: 'content-length' }],
      [{ endpoint: REGISTER, size: LIMIT + 1, unit: 'p', framing: 'content-length' }],
    ]
    await fc.assert(
      fc.asyncProperty(oversized, async ({ endpoint, size, unit, framing }) => {
        const [first, second] = endpoint.fields as [string, string]
        const skeleton = Buffer.byteLength(JSON.stringify({ [first]: 'alice', [second]: '' }))
        const password = unit.repeat(Math.ceil((size - skeleton) / Buffer.byteLength(unit)))
        const bytes = Buffer.from(JSON.stringify({ [first]: 'alice', [second]: password }))
        assert.ok(bytes.length > LIMIT)
        counting.reset()
        const before = await snapshot(app)
        const headers: Record<string, string> = { 'content-type': 'application/json' }
        if (endpoint.auth) headers.authorization = `Bearer ${accounts.alice.accessToken}`
        const req: Req = {
          method: endpoint.method,
          url: endpoint.url,
          headers,
          payload: framing === 'stream' ? Readable.from([bytes]) : bytes,
        }
        const what = `${endpoint.method} ${endpoint.url} with a ${bytes.length}-byte body (${framing})`
        const res = await send(app, req)
        assertProblem(res, 413, 'payload_too_large', what)
        assert.equal(counting.total(), 0, `${what}: hash calls ${JSON.stringify(counting.calls)}`)
        assertSameStore(before, await snapshot(app), what)
      }),
      { numRuns: 60, examples },
    )
  })
})
