import assert from 'node:assert/strict'
import { METHODS } from 'node:http'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../src/app.ts'
import { type Account, Accounts } from '../support/fuzz/accounts.ts'
import { bodyClass, jsonContentType, otherContentType } from '../support/fuzz/bodies.ts'
import { shapedBody, tree, treeText } from '../support/fuzz/json.ts'
import { type Req, send, show } from '../support/fuzz/send.ts'
import {
  assertSameStore,
  assertSessionCreated,
  assertUserCreated,
  type StoreSnapshot,
  snapshot,
} from '../support/fuzz/store.ts'
import { nastyString, strongPassword, validLogin } from '../support/fuzz/text.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertClientError } from '../support/problems.ts'
import { PASSWORD } from '../support/requests.ts'

// Property-based tests of whole requests: any method, path, query string, content type, body
// and Authorization header, on every endpoint.

interface Route {
  method: string
  path: string
  fields: string[]
}

const ROUTES: Route[] = [
  { method: 'GET', path: '/health/live', fields: [] },
  { method: 'GET', path: '/health/ready', fields: [] },
  { method: 'GET', path: '/.well-known/jwks.json', fields: [] },
  { method: 'POST', path: '/user/', fields: ['login', 'password'] },
  { method: 'POST', path: '/session/', fields: ['login', 'password'] },
  { method: 'POST', path: '/session/refresh', fields: ['refresh_token'] },
  { method: 'DELETE', path: '/session/', fields: ['refresh_token'] },
  { method: 'GET', path: '/user/me', fields: [] },
  { method: 'GET', path: '/user/{id}', fields: [] },
  { method: 'GET', path: '/user/', fields: [] },
  { method: 'PUT', path: '/user/me/password', fields: ['current_password', 'new_password'] },
  { method: 'DELETE', path: '/user/{id}', fields: [] },
]

// --- symbolic requests: test users are named, and resolved when the request is sent ----------

type Who = 'alice' | 'root'

/** Text, or a reference to a test user's id, token or cursor (they change when one is re-made). */
type Piece = string | { ref: 'id' | 'id-upper' | 'cursor'; who: Who }

interface Auth {
  who?: Who
  /** `%s` is the token. */
  form: string
  accepted: boolean
  /** Replaces the token: garbage. */
  garbage?: string
}

interface Sym {
  method: string
  path: Piece[]
  query: Piece[]
  auth: Auth | undefined
  contentType: string | undefined
  body: string | Buffer | undefined
  requestId: string | undefined
}

function resolve(piece: Piece, accounts: Accounts): string {
  if (typeof piece === 'string') return piece
  const account = accounts[piece.who]
  if (piece.ref === 'id') return account.id
  if (piece.ref === 'id-upper') return account.id.toUpperCase()
  return Buffer.from(account.id).toString('base64url')
}

function toRequest(s: Sym, accounts: Accounts): { req: Req; actor: Account | undefined } {
  const headers: Record<string, string> = {}
  let actor: Account | undefined
  if (s.auth) {
    const token = s.auth.garbage ?? accounts[s.auth.who ?? 'alice'].accessToken
    headers.authorization = s.auth.form.replace('%s', token)
    if (s.auth.accepted && s.auth.garbage === undefined && s.auth.who) actor = accounts[s.auth.who]
  }
  if (s.contentType !== undefined) headers['content-type'] = s.contentType
  if (s.requestId !== undefined) headers['x-request-id'] = s.requestId
  const path = s.path.map((p) => resolve(p, accounts)).join('')
  const query = s.query.map((p) => resolve(p, accounts)).join('')
  return {
    req: {
      method: s.method,
      url: `${path}${query}`,
      headers,
      ...(s.body === undefined ? {} : { payload: s.body }),
    },
    actor,
  }
}

// --- generators ------------------------------------------------------------------------------------

/** Percent-encodes the UTF-8 of any text (lone surrogates become U+FFFD, as a browser would). */
const pct = (text: string) =>
  [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('')

const who = fc.constantFrom<Who>('alice', 'root')

const idSegment: fc.Arbitrary<Piece> = fc.oneof(
  fc.constantFrom(
    'me',
    'ME',
    'Me',
    'me.',
    '.',
    '..',
    '%',
    '%zz',
    '%00',
    '%FF',
    '%2F',
    '%2e',
    'me%2F',
  ),
  who.map((w): Piece => ({ ref: 'id', who: w })),
  who.map((w): Piece => ({ ref: 'id-upper', who: w })),
  fc.uuid().map((u): Piece => u),
  fc.uuid().map((u): Piece => u.toUpperCase()),
  nastyString(30).map((s): Piece => pct(s)),
  fc.stringMatching(/^[A-Za-z0-9\-._~!$&'()*+,;=:@]{1,40}$/).map((s): Piece => s),
  fc.integer({ min: 8000, max: 9000 }).map((n): Piece => 'a'.repeat(n)),
)

/** The route's path, its `{id}` filled, then bent: case, slashes, dot segments, encodings. */
const pathPieces = (route: Route): fc.Arbitrary<Piece[]> =>
  fc
    .tuple(
      idSegment,
      fc.oneof(
        { arbitrary: fc.constant('none'), weight: 10 },
        {
          arbitrary: fc.constantFrom(
            'toggle-slash',
            'double-slash',
            'upper',
            'dot',
            'dotdot',
            'prefix',
            'suffix',
            'encode-char',
            'drop-leading-slash',
            'absolute-uri',
          ),
          weight: 6,
        },
      ),
      fc.nat(),
    )
    .map(([id, bend, n]) => {
      const [head, tail] = route.path.split('{id}') as [string, string | undefined]
      let text = head
      const pieces: Piece[] = []
      if (tail !== undefined) {
        pieces.push(head, id)
        text = tail
      }
      const parts = [...pieces, text]
      const joined = () => parts.filter((p) => typeof p === 'string').join('')
      const last = parts.length - 1
      const lastText = parts[last] as string
      switch (bend) {
        case 'toggle-slash':
          parts[last] = lastText.endsWith('/') ? lastText.slice(0, -1) : `${lastText}/`
          break
        case 'double-slash':
          parts[0] = (parts[0] as string).replace('/', '//')
          break
        case 'upper':
          parts[0] = (parts[0] as string).toUpperCase()
          break
        case 'dot':
          parts[0] = `/.${parts[0] as string}`
          break
        case 'dotdot':
          parts[0] = `/x/..${parts[0] as string}`
          break
        case 'prefix':
          parts[0] = `/api${parts[0] as string}`
          break
        case 'suffix':
          parts[last] = `${lastText.replace(/\/$/, '')}/extra`
          break
        case 'encode-char': {
          const first = parts[0] as string
          const i = 1 + (n % Math.max(1, first.length - 1))
          parts[0] = `${first.slice(0, i)}${pct(first[i] ?? '')}${first.slice(i + 1)}`
          break
        }
        case 'drop-leading-slash':
          parts[0] = (parts[0] as string).slice(1)
          break
        case 'absolute-uri':
          parts[0] = `http://evil.example${parts[0] as string}`
          break
      }
      // An empty path would be a test-side error (inject refuses it), not a request.
      return joined() === '' && parts.length === 1 ? ['/'] : parts
    })

const limitValue = fc.oneof(
  fc.integer({ min: -5, max: 200 }).map(String),
  fc.constantFrom(
    '',
    '1e1',
    '0x10',
    ' 5',
    '5.0',
    '5.5',
    'abc',
    '%00',
    '-0',
    'NaN',
    'Infinity',
    '1,2',
  ),
  fc.integer({ min: 300, max: 2000 }).map((n) => '9'.repeat(n)),
)

const cursorValue: fc.Arbitrary<Piece> = fc.oneof(
  who.map((w): Piece => ({ ref: 'cursor', who: w })),
  fc.uuid().map((u): Piece => Buffer.from(u).toString('base64url')),
  fc.uint8Array({ maxLength: 60 }).map((b): Piece => Buffer.from(b).toString('base64url')),
  nastyString(30).map((s): Piece => pct(s)),
  fc.constantFrom<Piece>('', '=', '%', '%zz', 'A'.repeat(201), 'A'.repeat(200)),
)

const queryPair: fc.Arbitrary<Piece[]> = fc.oneof(
  limitValue.map((v): Piece[] => [`limit=${v}`]),
  cursorValue.map((v): Piece[] => ['cursor=', v]),
  fc.constantFrom<Piece[]>(
    ['__proto__[x]=1'],
    ['__proto__=1'],
    ['constructor[prototype][x]=1'],
    ['constructor=1'],
    ['prototype=1'],
    ['limit'],
    ['='],
    [''],
    ['%'],
    ['%zz=1'],
    ['limit[]=1'],
    ['limit[0]=1'],
    ['a=%ED%A0%80'],
    ['a=%FF'],
  ),
  fc.tuple(nastyString(10), nastyString(10)).map(([k, v]): Piece[] => [`${pct(k)}=${pct(v)}`]),
)

const queryPieces: fc.Arbitrary<Piece[]> = fc.oneof(
  { arbitrary: fc.constant<Piece[]>([]), weight: 3 },
  {
    arbitrary: fc.array(queryPair, { minLength: 0, maxLength: 4 }).chain((pairs) =>
      fc.constantFrom('?', '??', '?&').map((lead): Piece[] => {
        const out: Piece[] = [lead]
        pairs.forEach((pair, i) => {
          if (i > 0) out.push('&')
          out.push(...pair)
        })
        return out
      }),
    ),
    weight: 3,
  },
)

/** Header text a real HTTP/1.1 parser would pass on: tab, visible ASCII, space, obs-text. */
const headerText = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
      fc.constant('\t'),
    ),
    maxLength,
  })

const ACCEPTED_FORMS = ['Bearer %s', 'bearer %s', 'BEARER %s', 'Bearer  %s', 'Bearer %s  ']
const REFUSED_FORMS = [
  'Basic %s',
  'Token %s',
  'Bearer%s',
  '%s',
  'Bearer %s extra',
  'Bearer %s,',
  'Bearer "%s"',
  'Bearer\t%s',
  'Bearer %s=x',
  'Bearer, Bearer %s',
]

const auth: fc.Arbitrary<Auth | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  {
    arbitrary: fc
      .tuple(who, fc.constantFrom(...ACCEPTED_FORMS))
      .map(([w, form]): Auth => ({ who: w, form, accepted: true })),
    weight: 4,
  },
  {
    arbitrary: fc
      .tuple(who, fc.constantFrom(...REFUSED_FORMS))
      .map(([w, form]): Auth => ({ who: w, form, accepted: false })),
    weight: 1,
  },
  {
    arbitrary: headerText(200).map(
      (garbage): Auth => ({ form: 'Bearer %s', accepted: false, garbage }),
    ),
    weight: 1,
  },
  {
    arbitrary: headerText(200).map((garbage): Auth => ({ form: '%s', accepted: false, garbage })),
    weight: 1,
  },
)

const bodyFor = (route: Route): fc.Arbitrary<string | Buffer | undefined> => {
  const reads = route.fields.length > 0
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: reads ? 1 : 6 },
    { arbitrary: tree.map(treeText), weight: 2 },
    ...(reads ? [{ arbitrary: shapedBody(route.fields), weight: 3 }] : []),
    {
      arbitrary: fc
        .tuple(validLogin, strongPassword)
        .map(([login, password]) => JSON.stringify({ login, password })),
      weight: reads ? 3 : 1,
    },
    {
      arbitrary: fc
        .constantFrom('alice', 'root', 'ALICE')
        .map((login) => JSON.stringify({ login, password: PASSWORD })),
      weight: reads ? 2 : 1,
    },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), weight: 1 },
  )
}

const anyMethod = fc.constantFrom(...METHODS)

const sym: fc.Arbitrary<Sym> = fc.constantFrom(...ROUTES).chain((route) =>
  fc.record({
    method: fc.oneof(
      { arbitrary: fc.constant(route.method), weight: 6 },
      { arbitrary: fc.constant('HEAD'), weight: 1 },
      { arbitrary: anyMethod, weight: 2 },
    ),
    path: pathPieces(route),
    query: queryPieces,
    auth,
    contentType: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 1 },
      { arbitrary: jsonContentType, weight: 4 },
      { arbitrary: otherContentType, weight: 1 },
    ),
    body: bodyFor(route),
    requestId: fc.option(headerText(150), { freq: 5, nil: undefined }),
  }),
)

// --- the judge -------------------------------------------------------------------------------------

/** The success codes each method may answer with (the routes.ts files), and only these. */
const SUCCESS: Record<string, number[]> = {
  GET: [200],
  HEAD: [200],
  POST: [200, 201],
  DELETE: [204],
}

function parsedFields(req: Req): Record<string, unknown> | undefined {
  const payload = req.payload
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return undefined
  const parsed = bodyClass(Buffer.from(payload))
  return parsed.kind === 'parsed' && typeof parsed.value === 'object' && parsed.value !== null
    ? (parsed.value as Record<string, unknown>)
    : undefined
}

/** The path names /session (however it is spelled: the router decodes percent-escapes). */
function isSessionPath(url: string): boolean {
  const path = url.split('?')[0] ?? ''
  let decoded = path
  try {
    decoded = decodeURIComponent(path)
  } catch {}
  return /(^|\/)session\/?$/.test(decoded)
}

async function judge(
  app: App,
  accounts: Accounts,
  req: Req,
  actor: Account | undefined,
  res: LightMyRequestResponse,
  before: StoreSnapshot,
  what: string,
) {
  const after = await snapshot(app)
  const where = `${what} → ${res.statusCode} ${res.body.slice(0, 400)}`
  assert.ok(res.statusCode < 500, `a 5xx: ${where}`)
  if (res.statusCode >= 400) {
    assertClientError(res, req.method, what)
    assertSameStore(before, after, what)
    return
  }
  assert.ok(SUCCESS[req.method]?.includes(res.statusCode), `an undocumented success: ${where}`)
  const fields = parsedFields(req)
  if (res.statusCode === 201) {
    assertUserCreated(before, after, res, fields?.login as string, what)
    return
  }
  if (req.method === 'POST') {
    // 200: a login. Only alice and root have passwords this test knows; nobody refreshes.
    const login = String(fields?.login ?? '').toLowerCase()
    const account = [accounts.alice, accounts.root].find((a) => a.login === login)
    assert.ok(account && fields?.password === PASSWORD, `a login with a wrong password: ${where}`)
    assertSessionCreated(before, after, res, account.id, what)
    return
  }
  if (req.method === 'DELETE') {
    assert.equal(res.body, '', where)
    if (isSessionPath(req.url)) {
      // A logout: the refresh tokens sent here are never real ones.
      assertSameStore(before, after, what)
      return
    }
    // DELETE /user/{id}: 204 means that user is gone.
    const removed = before.users.filter((u) => !after.users.some((a) => a.id === u.id))
    assert.equal(removed.length, 1, `several users deleted: ${where}`)
    const gone = removed[0]?.id as string
    assert.ok(actor, `a user deleted without a valid token: ${where}`)
    assert.ok(actor.id === gone || actor.role === 'admin', `deleted someone else: ${where}`)
    assertSameStore(
      {
        ...before,
        users: before.users.filter((u) => u.id !== gone),
        refresh_tokens: before.refresh_tokens.filter((t) => t.user_id !== gone),
      },
      after,
      `more than the user and its refresh tokens changed: ${where}`,
    )
    await accounts.restore()
    return
  }
  // GET and HEAD read only.
  assertSameStore(before, after, what)
  if (req.method === 'HEAD') {
    assert.equal(res.body, '', where)
    return
  }
  const type = String(res.headers['content-type'])
  if (!type.startsWith('application/json')) {
    // The web pages and their assets (web/): public, the same for everyone.
    assert.match(type, /^(text\/html|text\/css|application\/javascript)/, where)
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/, where)
    return
  }
  const body = res.json() as Record<string, unknown>
  if ('openapi' in body) {
    assert.equal(body.openapi, '3.1.0', where)
  } else if ('min_length' in body) {
    assert.equal(typeof body.max_length, 'number', where)
  } else if ('id' in body) {
    assert.ok(actor, `a user's data without a valid token: ${where}`)
    assert.ok(actor.id === body.id || actor.role === 'admin', `another user's data: ${where}`)
    assert.deepEqual(Object.keys(body).sort(), ['id', 'login', 'registered_at', 'role'], where)
  } else if ('items' in body) {
    assert.equal(actor?.role, 'admin', `the user list without an admin token: ${where}`)
  } else if ('keys' in body) {
    assert.ok(Array.isArray(body.keys) && body.keys.length > 0, where)
    for (const key of body.keys as Array<Record<string, unknown>>) assert.ok(!('d' in key), where)
  } else {
    assert.equal(body.status, 'ok', `an unknown 200: ${where}`)
  }
}

async function fuzz(app: App, accounts: Accounts, numRuns: number) {
  await fc.assert(
    fc.asyncProperty(sym, async (s) => {
      const { req, actor } = toRequest(s, accounts)
      const what = `${show(req)} as ${actor ? actor.login : 'nobody'}`
      const before = await snapshot(app)
      const res = await send(app, req)
      await judge(app, accounts, req, actor, res, before, what)
    }),
    { numRuns },
  )
}

describe('fuzzing whole requests', () => {
  test('any method, path, query, content type, body and Authorization (sqlite): documented success or a 4xx problem; refusals change nothing', async (t) => {
    const { app } = await makeApp(t)
    await fuzz(app, await new Accounts(app).init(), 3000)
  })

  for (const dialect of dialects()) {
    test(`the same, fewer runs (${dialect})`, async (t) => {
      const { app } = await makeApp(t, { dialect })
      await fuzz(app, await new Accounts(app).init(), 300)
    })
  }

  test('the judge can fail: a deleted user with no token behind it is caught', async (t) => {
    const { app } = await makeApp(t)
    const accounts = await new Accounts(app).init()
    const before = await snapshot(app)
    await app.store.db.deleteFrom('users').where('id', '=', accounts.alice.id).execute()
    const fake = { statusCode: 204, body: '', headers: {} } as LightMyRequestResponse
    const req: Req = { method: 'DELETE', url: `/user/${accounts.alice.id}` }
    await assert.rejects(
      judge(app, accounts, req, undefined, fake, before, 'forged'),
      /a user deleted without a valid token/,
    )
  })
})
