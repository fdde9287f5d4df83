import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../src/app.ts'
import { type Account, Accounts } from '../support/fuzz/accounts.ts'
import {
  BODY_ENDPOINTS,
  bodyClass,
  type Endpoint,
  exactStrings,
  invalidUtf8,
  jsonContentType,
  LOGIN,
  otherContentType,
  REFRESH,
  REGISTER,
  spliceBytes,
} from '../support/fuzz/bodies.ts'
import { deepText, hugeText, shapedBody, tree, treeText } from '../support/fuzz/json.ts'
import { type Req, send, show } from '../support/fuzz/send.ts'
import {
  assertSameStore,
  assertSessionCreated,
  assertUserCreated,
  counts,
  type StoreSnapshot,
  snapshot,
} from '../support/fuzz/store.ts'
import { nastyChar, nastyString, strongPassword, validLogin } from '../support/fuzz/text.ts'
import { makeApp } from '../support/harness.ts'
import { assertClientError, assertProblem } from '../support/problems.ts'
import { PASSWORD } from '../support/requests.ts'

// Property-based tests of the request bodies of every endpoint that reads one (SQLite).

/** Schema bounds of each field, in code points (Ajv's count): src/http/schemas.ts. */
const MAX_LENGTH: Record<string, number> = {
  login: 1024,
  password: 4096,
  current_password: 4096,
  new_password: 4096,
  refresh_token: 1024,
}

/** The parsed body is exactly the endpoint's fields, as strings within the schema's bounds. */
function wellShaped(value: unknown, endpoint: Endpoint): Record<string, string> | undefined {
  const fields = exactStrings(value, endpoint.fields)
  if (!fields) return undefined
  const ok = endpoint.fields.every((f) => {
    const n = [...(fields[f] as string)].length
    return n >= 1 && n <= (MAX_LENGTH[f] as number)
  })
  return ok ? fields : undefined
}

type Tag = 'valid-registration' | undefined

interface BodyCase {
  endpoint: Endpoint
  contentType: string | undefined
  /** undefined: no body at all. */
  bytes: Buffer | undefined
  /** What the generator knows about an undamaged body. */
  tag: Tag
}

function request(c: BodyCase, alice: Account): Req {
  const headers: Record<string, string> = {}
  if (c.contentType !== undefined) headers['content-type'] = c.contentType
  if (c.endpoint.auth) headers.authorization = `Bearer ${alice.accessToken}`
  return {
    method: c.endpoint.method,
    url: c.endpoint.url,
    headers,
    ...(c.bytes === undefined ? {} : { payload: c.bytes }),
  }
}

/** application/json, with no charset or UTF-8 (RFC 8259 §8.1): any other charset is a 415. */
function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined || !/^application\/json\s*(;|$)/i.test(contentType)) return false
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType)?.[1]
  return charset === undefined || charset.toLowerCase() === 'utf-8'
}

/**
 * The answer the issue asks for, given the body: an exact status and code for every refusal the
 * body alone decides, and for a well-shaped body the outcomes its endpoint documents.
 */
function judge(
  c: BodyCase,
  res: LightMyRequestResponse,
  before: StoreSnapshot,
  after: StoreSnapshot,
  accounts: Accounts,
  what: string,
) {
  const { endpoint } = c
  const refused = (status: number, code: string) => {
    assertProblem(res, status, code, what)
    assertSameStore(before, after, what)
  }
  if (c.contentType === undefined && (c.bytes === undefined || c.bytes.length === 0)) {
    // No body and no type: nothing to parse, and the schema wants an object.
    return refused(422, 'validation_failed')
  }
  if (!isJsonType(c.contentType)) return refused(415, 'unsupported_media_type')
  // A JSON content type and no body at all is an empty JSON body.
  if (c.bytes === undefined) return refused(400, 'malformed_json')
  const parsed = bodyClass(c.bytes)
  if (parsed.kind === 'too_large') return refused(413, 'payload_too_large')
  if (parsed.kind === 'malformed') return refused(400, 'malformed_json')
  const fields = wellShaped(parsed.value, endpoint)
  if (!fields) {
    // Registration names every broken rule: a policy-only failure is password_policy.
    if (endpoint === REGISTER && res.statusCode === 422) {
      const code = assertClientError(res, endpoint.method, what)
      assert.ok(['validation_failed', 'password_policy'].includes(code), what)
      return assertSameStore(before, after, what)
    }
    return refused(422, 'validation_failed')
  }
  const status = res.statusCode
  const allowed: Record<string, number[]> = {
    'POST /user/': [201, 409, 422],
    'POST /session/': [200, 401, 429],
    'POST /session/refresh': [401],
    'DELETE /session/': [204],
    // The current password is never alice's: a wrong one is 401 (or 429 after a few).
    'PUT /user/me/password': [401, 429],
  }
  const key = `${endpoint.method} ${endpoint.url}`
  assert.ok(
    allowed[key]?.includes(status),
    `${status} not in ${allowed[key]}: ${what} → ${res.body}`,
  )
  if (endpoint === REGISTER && c.tag === 'valid-registration') {
    assert.ok([201, 409].includes(status), `a valid registration → ${status}: ${what} ${res.body}`)
  }
  if (endpoint === LOGIN) {
    // The login is matched after NFKC and case folding (ａｌｉｃｅ is alice).
    const own =
      fields.login?.normalize('NFKC').toLowerCase() === 'alice' && fields.password === PASSWORD
    if (own) assert.ok([200, 429].includes(status), `alice's login → ${status}: ${what}`)
    if (status === 200) {
      assert.ok(own, `a login without alice's credentials → 200: ${what}`)
      return assertSessionCreated(before, after, res, accounts.alice.id, what)
    }
  }
  if (status === 201) return assertUserCreated(before, after, res, fields.login, what)
  if (status === 204) {
    assert.equal(res.body, '', what)
    return assertSameStore(before, after, what)
  }
  const code = assertClientError(res, endpoint.method, what)
  const codes: Record<number, string[]> = {
    401: [endpoint === REFRESH ? 'invalid_refresh_token' : 'invalid_credentials'],
    409: ['login_taken'],
    422: ['validation_failed', 'password_policy'],
    429: ['rate_limited'],
  }
  assert.ok(codes[status]?.includes(code), `${code}: ${what}`)
  assertSameStore(before, after, what)
}

// Generators.

const validRegistration = fc
  .tuple(validLogin, strongPassword)
  .map(([login, password]) => JSON.stringify({ login, password }))

const ownCredentials = fc
  .constantFrom('alice', 'ALICE', 'Alice', 'ａｌｉｃｅ')
  .map((login) => JSON.stringify({ login, password: PASSWORD }))

function bodyText(endpoint: Endpoint): fc.Arbitrary<{ text: string; tag: Tag }> {
  const untagged = (arb: fc.Arbitrary<string>) =>
    arb.map((text): { text: string; tag: Tag } => ({ text, tag: undefined }))
  const choices = [
    { arbitrary: untagged(tree.map(treeText)), weight: 3 },
    { arbitrary: untagged(shapedBody(endpoint.fields)), weight: 5 },
    { arbitrary: untagged(deepText), weight: 1 },
    { arbitrary: untagged(hugeText), weight: 1 },
    { arbitrary: untagged(fc.string({ unit: 'binary', maxLength: 30 })), weight: 1 },
  ]
  if (endpoint === REGISTER) {
    choices.push({
      arbitrary: validRegistration.map((text) => ({ text, tag: 'valid-registration' as Tag })),
      weight: 3,
    })
    // One half valid: the other half's rules (password policy, login syntax) decide.
    choices.push({
      arbitrary: untagged(
        fc
          .oneof(
            fc.record({ login: validLogin, password: nastyString(300) }),
            fc.record({ login: nastyString(80), password: strongPassword }),
          )
          .map((body) => JSON.stringify(body)),
      ),
      weight: 2,
    })
  }
  if (endpoint === LOGIN) {
    choices.push({ arbitrary: untagged(ownCredentials), weight: 1 })
  }
  return fc.oneof(...choices)
}

/** Byte-level damage: invalid UTF-8, a raw control character, truncation, a BOM, padding. */
const damage = fc.oneof(
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), invalidUtf8).map(
    ([at, bytes]) =>
      (b: Buffer) =>
        spliceBytes(b, at, bytes),
  ),
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), nastyChar).map(
    ([at, ch]) =>
      (b: Buffer) =>
        spliceBytes(b, at, [...Buffer.from(ch)]),
  ),
  fc.double({ min: 0, max: 1, noNaN: true }).map((at) => (b: Buffer) => {
    return b.subarray(0, Math.floor(at * b.length))
  }),
  fc.constant((b: Buffer) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b])),
  fc.constantFrom(' ', '\n\t ', '\r\n').map((ws) => (b: Buffer) => {
    return Buffer.concat([Buffer.from(ws), b, Buffer.from(ws)])
  }),
)

function bodyCase(endpoint: Endpoint): fc.Arbitrary<BodyCase> {
  return fc
    .record({
      body: bodyText(endpoint),
      // Undamaged four times out of five.
      damage: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 4 },
        { arbitrary: damage, weight: 1 },
      ),
      contentType: fc.oneof(
        { arbitrary: jsonContentType, weight: 8 },
        { arbitrary: otherContentType, weight: 1 },
      ),
      // Now and then no body at all, with or without a content type.
      absent: fc.integer({ min: 0, max: 39 }).map((n) => n === 0),
    })
    .map(({ body, damage: hurt, contentType, absent }): BodyCase => {
      const clean = Buffer.from(body.text)
      const bytes = hurt ? hurt(clean) : clean
      const unchanged = bytes.equals(clean)
      return {
        endpoint,
        contentType,
        bytes: absent ? undefined : bytes,
        tag: unchanged && !absent && isJsonType(contentType) ? body.tag : undefined,
      }
    })
}

const anyBodyCase = fc.constantFrom(...BODY_ENDPOINTS).chain(bodyCase)

async function run(app: App, accounts: Accounts, c: BodyCase) {
  const req = request(c, accounts.alice)
  const what = show(req)
  const before = await snapshot(app)
  const res = await send(app, req)
  const after = await snapshot(app)
  judge(c, res, before, after, accounts, what)
}

describe('fuzzing request bodies (sqlite)', () => {
  test('any body on any endpoint: the documented answer, a 4xx problem otherwise, never a 5xx; refusals change nothing', async (t) => {
    const { app } = await makeApp(t)
    const accounts = await new Accounts(app).init()
    await fc.assert(
      fc.asyncProperty(anyBodyCase, (c) => run(app, accounts, c)),
      { numRuns: 2000 },
    )
  })

  test('the store check sees a registration (the helpers can fail)', async (t) => {
    const { app } = await makeApp(t)
    await new Accounts(app).init()
    const before = await snapshot(app)
    const res = await send(app, {
      method: 'POST',
      url: '/user/',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ login: 'carol1', password: 'granite lantern orchard velvet' }),
    })
    assert.equal(res.statusCode, 201, res.body)
    const after = await snapshot(app)
    assert.notEqual(counts(after), counts(before))
    assert.throws(() => assertSameStore(before, after, 'a registration'), /row counts changed/)
  })
})
