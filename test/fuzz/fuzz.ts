import assert from 'node:assert/strict'
import type { Readable } from 'node:stream'
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../src/app.ts'
import { catalogue } from '../../src/errors.ts'
import { hasDuplicateKey } from '../../src/http/duplicate-keys.ts'
import { PROBLEM_JSON } from '../api.ts'
import { PASSWORD } from '../helpers.ts'

// Shared pieces of the property-based tests in test/fuzz/: store snapshots, the problem-document
// check, request injection with a hang detector, test users, and the arbitraries.

/** Fastify's body limit (src/app.ts BODY_LIMIT), restated: the tests check the number. */
export const LIMIT = 16 * 1024
/** Longer than this, an answer counts as a hang. */
const HANG_MS = 10_000

// --- the store -------------------------------------------------------------------------------

export interface StoreSnapshot {
  users: Array<Record<string, unknown>>
  refresh_tokens: Array<Record<string, unknown>>
  signing_keys: Array<Record<string, unknown>>
}

/** Every row of every table, in a stable order. */
export async function snapshot(app: App): Promise<StoreSnapshot> {
  const { db } = app.store
  const [users, refreshTokens, signingKeys] = await Promise.all([
    db.selectFrom('users').selectAll().orderBy('id').execute(),
    db.selectFrom('refresh_tokens').selectAll().orderBy('id').execute(),
    db.selectFrom('signing_keys').selectAll().orderBy('kid').execute(),
  ])
  return { users, refresh_tokens: refreshTokens, signing_keys: signingKeys }
}

export function counts(s: StoreSnapshot): string {
  return `users=${s.users.length} refresh_tokens=${s.refresh_tokens.length} signing_keys=${s.signing_keys.length}`
}

export function assertSameStore(before: StoreSnapshot, after: StoreSnapshot, what: string) {
  assert.equal(counts(after), counts(before), `row counts changed: ${what}`)
  assert.deepEqual(after, before, `rows changed: ${what}`)
}

// --- requests and answers ----------------------------------------------------------------------

export interface Req {
  method: string
  url: string
  headers?: Record<string, string>
  payload?: string | Buffer | Readable
}

/** app.inject, failing (instead of waiting for the test runner's timeout) when it hangs. */
export async function send(app: App, req: Req): Promise<LightMyRequestResponse> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${HANG_MS} ms: ${show(req)}`)),
      HANG_MS,
    )
  })
  try {
    return await Promise.race([
      app.inject({
        method: req.method as 'GET',
        url: req.url,
        headers: req.headers ?? {},
        ...(req.payload === undefined ? {} : { payload: req.payload }),
      }),
      hang,
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** A short, printable description of a request for assertion messages. */
export function show(req: Req): string {
  const payload =
    req.payload === undefined
      ? ''
      : typeof req.payload === 'string' || Buffer.isBuffer(req.payload)
        ? ` body(${Buffer.byteLength(req.payload)} bytes)=${JSON.stringify(Buffer.from(req.payload).toString('latin1').slice(0, 300))}`
        : ' body=<stream>'
  return `${req.method} ${JSON.stringify(req.url.slice(0, 300))} headers=${JSON.stringify(req.headers ?? {}).slice(0, 400)}${payload}`
}

const PROBLEM_KEYS = new Set(['type', 'title', 'status', 'detail', 'code', 'errors'])

/**
 * A 4xx RFC 9457 problem document: status in the body equal to the HTTP status, a code of the
 * catalogue with that status, its title and type. HEAD answers carry the headers only.
 * Returns the code.
 */
export function assertProblemAnswer(
  res: LightMyRequestResponse,
  method: string,
  what: string,
): string {
  const where = `${what} → ${res.statusCode} ${res.body.slice(0, 500)}`
  assert.ok(res.statusCode >= 400 && res.statusCode < 500, `not a 4xx: ${where}`)
  assert.equal(res.headers['content-type'], PROBLEM_JSON, where)
  assert.equal(res.headers['x-content-type-options'], 'nosniff', where)
  // Only a 401 about the access token carries a Bearer challenge (RFC 6750 §3); a HEAD (of a GET
  // route) can only be refused for its token.
  const challenged = (code: string) =>
    code === 'invalid_token'
      ? assert.match(String(res.headers['www-authenticate']), /^Bearer realm="usersvc"/, where)
      : assert.equal(res.headers['www-authenticate'], undefined, where)
  if (res.statusCode === 405) assert.ok(String(res.headers.allow ?? '').length > 0, where)
  if (res.statusCode === 429) assert.match(String(res.headers['retry-after']), /^\d+$/, where)
  if (method.toUpperCase() === 'HEAD') {
    assert.equal(res.body, '', where)
    const code = Object.entries(catalogue).find(([, v]) => v.status === res.statusCode)
    assert.ok(code, `no catalogue code has status ${res.statusCode}: ${where}`)
    challenged(res.statusCode === 401 ? 'invalid_token' : code[0])
    return code[0]
  }
  const problem = res.json() as Record<string, unknown>
  for (const key of Object.keys(problem)) assert.ok(PROBLEM_KEYS.has(key), `key ${key}: ${where}`)
  const code = problem.code as keyof typeof catalogue
  assert.ok(Object.hasOwn(catalogue, code), `code not in the catalogue: ${where}`)
  assert.equal(problem.status, res.statusCode, where)
  assert.equal(catalogue[code].status, res.statusCode, where)
  assert.equal(problem.title, catalogue[code].title, where)
  assert.equal(problem.type, `/problems/${code}`, where)
  challenged(code)
  if ('detail' in problem) assert.equal(typeof problem.detail, 'string', where)
  if ('errors' in problem) {
    assert.ok(Array.isArray(problem.errors) && problem.errors.length > 0, where)
    for (const error of problem.errors as Array<Record<string, unknown>>) {
      const keys = Object.keys(error).sort()
      assert.deepEqual(
        keys.filter((k) => k !== 'limit'),
        ['code', 'field', 'message'],
        where,
      )
      // A bound is named exactly where a length or range rule failed.
      const bounded = ['too_short', 'too_long', 'out_of_range'].includes(String(error.code))
      assert.equal(typeof error.limit === 'number', bounded, where)
    }
  }
  return code
}

/** A 4xx problem document with exactly this status and code. */
export function assertRefused(
  res: LightMyRequestResponse,
  method: string,
  status: number,
  code: string,
  what: string,
) {
  assert.equal(res.statusCode, status, `${what} → ${res.statusCode} ${res.body.slice(0, 500)}`)
  const got = assertProblemAnswer(res, method, what)
  if (method.toUpperCase() !== 'HEAD') assert.equal(got, code, `${what} → ${res.body}`)
}

// --- test users ----------------------------------------------------------------------------------

export interface Account {
  login: string
  password: string
  id: string
  role: 'user' | 'admin'
  accessToken: string
}

/**
 * The users a run can act as: `alice` (a user) and `root` (an admin). A request may delete one
 * of them (DELETE /user/me): `restore` brings it back with a new id and token. Made through the
 * service layer, not through POST /session/, so the login throttle never stands in the way.
 */
export class Accounts {
  alice!: Account
  root!: Account
  private readonly app: App
  constructor(app: App) {
    this.app = app
  }

  async init(): Promise<this> {
    this.alice = await this.make('alice', 'user')
    this.root = await this.make('root', 'admin')
    return this
  }

  private async make(login: string, role: 'user' | 'admin'): Promise<Account> {
    const user = await this.app.users.register(login, PASSWORD, role)
    const accessToken = await this.app.accessTokens.issue(user)
    return { login, password: PASSWORD, id: user.id, role, accessToken }
  }

  byId(id: string): Account | undefined {
    return [this.alice, this.root].find((a) => a.id === id)
  }

  /** Re-creates whichever of the two is no longer in the store. */
  async restore(): Promise<void> {
    for (const name of ['alice', 'root'] as const) {
      const account = this[name]
      const row = await this.app.store.db
        .selectFrom('users')
        .select('id')
        .where('id', '=', account.id)
        .executeTakeFirst()
      if (!row) this[name] = await this.make(account.login, account.role)
    }
  }
}

// --- arbitraries: text -------------------------------------------------------------------------

/** Characters that break naive code: NUL and other controls, lone surrogates, BOM, separators. */
export const nastyChar = fc.constantFrom(
  '\u0000',
  '\u0001',
  '\u0008',
  '\t',
  '\n',
  '\r',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u200b',
  '\u200e',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  'ﬁ',
  'Ⅻ',
  'ß',
  'İ',
  '😀',
  '"',
  '\\',
  '/',
  '%',
  '@',
  '.',
  '\u0301',
)

/** Any UTF-16 text, biased towards the nasty characters. */
export const nastyString = (maxLength = 40) =>
  fc.string({
    unit: fc.oneof(
      { arbitrary: nastyChar, weight: 2 },
      { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 3 },
      { arbitrary: fc.constantFrom('a', 'b', 'z', '0', '9', 'A', '_', '-'), weight: 3 },
    ),
    maxLength,
  })

/** A login the service accepts: letters of several scripts, and always a digit. */
export const validLogin = fc
  .tuple(
    fc.constantFrom('a', 'b', 'k', 'Z', 'é', 'ж', 'Ω', '中', 'ä', 'ı'),
    fc.string({
      unit: fc.constantFrom('a', 'q', 'x', 'Ж', 'ü', '.', '_', '-', '@', '+', 'δ', '5'),
      minLength: 1,
      maxLength: 20,
    }),
    fc.integer({ min: 0, max: 999_999 }),
  )
  .map(([first, rest, n]) => `${first}${rest}${n}`)

const WORDS = [
  'granite',
  'lantern',
  'orchard',
  'velvet',
  'harbour',
  'thistle',
  'meadow',
  'compass',
  'juniper',
  'quarry',
  'saffron',
  'tundra',
]

/** A password the policy accepts: 4–6 words, no digit (so it can never contain a login). */
export const strongPassword = fc
  .array(fc.constantFrom(...WORDS), { minLength: 4, maxLength: 6 })
  .chain((words) =>
    fc.constantFrom(' ', '-', '_', '').map((sep) => words.join(sep === '' ? ' ' : sep)),
  )

// --- arbitraries: JSON documents as text ---------------------------------------------------------

/** A JSON tree kept as text pieces, so keys may repeat and escapes may be chosen. */
export type Tree =
  | { kind: 'raw'; text: string }
  | { kind: 'array'; items: Tree[] }
  | { kind: 'object'; entries: Array<[string, Tree]> }

/** Key spellings: the dangerous names (also \u-escaped), the fields, and anything else. */
const keyText = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      '"__proto__"',
      '"\\u005f_proto__"',
      '"__proto\\u005f_"',
      '"constructor"',
      '"\\u0063onstructor"',
      '"prototype"',
      '"toString"',
      '"hasOwnProperty"',
      '"valueOf"',
      '"__defineGetter__"',
      '"login"',
      '"password"',
      '"current_password"',
      '"new_password"',
      '"refresh_token"',
      '"role"',
      '"id"',
      '""',
    ),
    weight: 3,
  },
  { arbitrary: nastyString(12).map((s) => JSON.stringify(s)), weight: 1 },
)

const scalarText = fc.oneof(
  fc.constantFrom(
    'null',
    'true',
    'false',
    '0',
    '-0',
    '1e400',
    '-1e400',
    '123456789012345678901234567890',
    '0.1',
    '1E-7',
    '""',
    '"\\u0000"',
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\uDBFF"',
  ),
  fc.double().map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  nastyString().map((s) => JSON.stringify(s)),
)

export const tree: fc.Arbitrary<Tree> = fc.letrec<{
  tree: Tree
  array: Tree
  object: Tree
}>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarText.map((text): Tree => ({ kind: 'raw', text })),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('tree'), { maxLength: 4 }).map((items): Tree => ({ kind: 'array', items })),
  object: fc
    .array(fc.tuple(keyText, tie('tree')), { maxLength: 5 })
    .map((entries): Tree => ({ kind: 'object', entries })),
})).tree

export function treeText(t: Tree): string {
  switch (t.kind) {
    case 'raw':
      return t.text
    case 'array':
      return `[${t.items.map(treeText).join(',')}]`
    case 'object':
      return `{${t.entries.map(([k, v]) => `${k}:${treeText(v)}`).join(',')}}`
  }
}

/** A body with the field names of `fields`, each with a random value (a string half the time). */
export function shapedBody(fields: string[], strings: fc.Arbitrary<string> = nastyString()) {
  const value = fc.oneof(
    { arbitrary: strings.map((s) => JSON.stringify(s)), weight: 3 },
    { arbitrary: tree.map(treeText), weight: 1 },
  )
  return fc
    .tuple(
      fc.oneof(
        { arbitrary: fc.constant(fields), weight: 3 },
        { arbitrary: fc.subarray(fields), weight: 1 },
      ),
      fc.array(value, { minLength: fields.length, maxLength: fields.length }),
      fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 3 },
        { arbitrary: fc.tuple(keyText, tree.map(treeText)), weight: 1 },
      ),
    )
    .map(([present, values, extra]) => {
      const parts = present.map((f, i) => `${JSON.stringify(f)}:${values[i]}`)
      if (extra) parts.push(`${extra[0]}:${extra[1]}`)
      return `{${parts.join(',')}}`
    })
}

/** Deep nesting: `[[[…]]]` or `{"a":{"a":…}}`, alone or as a field value. */
export const deepText = fc
  .tuple(
    fc.integer({ min: 1, max: 12_000 }),
    fc.constantFrom('array', 'object'),
    fc.constantFrom('', 'login', 'password', 'refresh_token', 'new_password'),
  )
  .map(([depth, kind, field]) => {
    const inner =
      kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : nestedObject(depth)
    return field === '' ? inner : `{${JSON.stringify(field)}:${inner}}`
  })

function nestedObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
}

/** A field holding a long string: sizes around and far beyond the 16 KiB body limit. */
export const hugeText = fc
  .tuple(
    fc.constantFrom('login', 'password', 'refresh_token', 'current_password', 'new_password', 'x'),
    fc.constantFrom('a', 'é', '😀', '\\u0000', '\\ud800', ' '),
    fc.oneof(
      fc.integer({ min: 1, max: 200_000 }),
      fc.integer({ min: LIMIT - 64, max: LIMIT + 64 }),
    ),
  )
  .map(([field, unit, n]) => `{${JSON.stringify(field)}:"${unit.repeat(n)}"}`)

// --- arbitraries: bytes ------------------------------------------------------------------------

/** Byte sequences that are not UTF-8: stray continuation, truncations, overlongs, surrogates. */
export const invalidUtf8: fc.Arbitrary<number[]> = fc.constantFrom<number[]>(
  [0x80],
  [0xbf],
  [0xff],
  [0xfe],
  [0xc0, 0xaf],
  [0xc1, 0xbf],
  [0xc3],
  [0xe2, 0x82],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf0, 0x9f, 0x98],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
)

export function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

/** Puts `insert` into `text` at a fraction `at` (0..1) of its length, as bytes. */
export function spliceBytes(text: string | Buffer, at: number, insert: number[]): Buffer {
  const bytes = Buffer.from(text)
  const i = Math.floor(at * bytes.length)
  return Buffer.concat([bytes.subarray(0, i), Buffer.from(insert), bytes.subarray(i)])
}

// --- what the JSON body parser must refuse -------------------------------------------------------

/**
 * The class of a JSON body by the rules the issue sets: 413 over 16 KiB, 400 malformed_json for
 * non-UTF-8, empty, non-JSON, or `__proto__` / `constructor.prototype` anywhere; else parsed.
 */
export function bodyClass(
  bytes: Buffer,
): { kind: 'too_large' } | { kind: 'malformed' } | { kind: 'parsed'; value: unknown } {
  if (bytes.length > LIMIT) return { kind: 'too_large' }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return { kind: 'malformed' }
  }
  if (text.trim() === '') return { kind: 'malformed' }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { kind: 'malformed' }
  }
  // A body with a key twice is refused (test/http/duplicate-keys.test.ts checks the detector).
  if (hasForbiddenKey(value) || hasDuplicateKey(text)) return { kind: 'malformed' }
  return { kind: 'parsed', value }
}

function hasForbiddenKey(value: unknown): boolean {
  const stack = [value]
  while (stack.length > 0) {
    const node = stack.pop()
    if (typeof node !== 'object' || node === null) continue
    if (Object.hasOwn(node, '__proto__')) return true
    const ctor = Object.hasOwn(node, 'constructor')
      ? (node as { constructor: unknown }).constructor
      : undefined
    if (typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) return true
    stack.push(...Object.values(node))
  }
  return false
}

/** A parsed body that is exactly an object of these string fields (and nothing else). */
export function exactStrings(value: unknown, fields: string[]): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const keys = Object.keys(value)
  if (keys.length !== fields.length || !fields.every((f) => keys.includes(f))) return undefined
  const record = value as Record<string, unknown>
  return fields.every((f) => typeof record[f] === 'string')
    ? (record as Record<string, string>)
    : undefined
}

/** Content types Fastify must read as JSON: no charset, or UTF-8 (RFC 8259 §8.1). */
export const jsonContentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=UTF-8',
  'application/json;charset=utf-8',
  'application/json; charset="utf-8"',
  'Application/JSON',
  'APPLICATION/JSON; CHARSET=UTF-8',
  'application/Json',
)

/**
 * Content types that are not JSON, or JSON in a charset other than UTF-8: 415. `undefined` = no
 * Content-Type header.
 */
export const otherContentType = fc.constantFrom(
  undefined,
  'application/json; charset=latin1',
  'application/json; charset=iso-8859-1',
  'application/json; charset=utf-16',
  'text/plain',
  'text/plain; charset=utf-8',
  'text/json',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'multipart/form-data',
  'application/problem+json',
  'application/jsonx',
  'application/json-patch+json',
  'application/ld+json',
  'application/xml',
  'application/octet-stream',
  'application',
  'json',
  '*/*',
  'application/*',
  'x-weird/type',
)

// --- what a success may change -------------------------------------------------------------------

/** A 201 from POST /user/: one new user row, as the body says, and nothing else changed. */
export function assertUserCreated(
  before: StoreSnapshot,
  after: StoreSnapshot,
  res: LightMyRequestResponse,
  login: string | undefined,
  what: string,
) {
  const where = `${what} → ${res.statusCode} ${res.body}`
  assert.match(String(res.headers['content-type']), /^application\/json/, where)
  const body = res.json() as { id: string; login: string; role: string }
  assert.deepEqual(Object.keys(body).sort(), ['id', 'login', 'registered_at', 'role'], where)
  assert.equal(body.role, 'user', where)
  if (login !== undefined) assert.equal(body.login, login, where)
  assert.equal(res.headers.location, `/user/${body.id}`, where)
  assert.equal(after.users.length, before.users.length + 1, `${counts(after)}: ${where}`)
  const added = after.users.filter((u) => !before.users.some((b) => b.id === u.id))
  assert.equal(added.length, 1, where)
  assert.equal(added[0]?.id, body.id, where)
  assert.equal(added[0]?.login, body.login, where)
  assert.equal(added[0]?.role, 'user', where)
  assertSameStore(
    { ...before, users: [] },
    { ...after, users: [] },
    `other tables after a registration: ${where}`,
  )
}

/** A 200 from POST /session/: one new refresh token of `userId`, nothing else changed. */
export function assertSessionCreated(
  before: StoreSnapshot,
  after: StoreSnapshot,
  res: LightMyRequestResponse,
  userId: string,
  what: string,
) {
  const where = `${what} → ${res.statusCode} ${res.body.slice(0, 300)}`
  const body = res.json() as { user: { id: string }; token_type: string }
  assert.equal(body.token_type, 'Bearer', where)
  assert.equal(body.user.id, userId, where)
  assert.equal(after.refresh_tokens.length, before.refresh_tokens.length + 1, where)
  const added = after.refresh_tokens.filter(
    (t) => !before.refresh_tokens.some((b) => b.id === t.id),
  )
  assert.equal(added.length, 1, where)
  assert.equal(added[0]?.user_id, userId, where)
  assertSameStore(
    { ...before, refresh_tokens: before.refresh_tokens.filter((t) => t.id !== added[0]?.id) },
    { ...after, refresh_tokens: after.refresh_tokens.filter((t) => t.id !== added[0]?.id) },
    `other rows after a login: ${where}`,
  )
}
