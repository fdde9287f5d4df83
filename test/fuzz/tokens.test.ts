import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { UnsecuredJWT } from 'jose'
import { type Req, send, show } from '../support/fuzz/send.ts'
import { assertSameStore, snapshot } from '../support/fuzz/store.ts'
import { nastyString } from '../support/fuzz/text.ts'
import { b64u, json, type Kit, makeKit, signEd25519 } from '../support/fuzz/tokens.ts'
import { makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { PASSWORD } from '../support/requests.ts'

// Property-based tests of Bearer tokens: whatever an attacker can put in Authorization is
// 401 invalid_token, on every endpoint that wants one.

// Token recipes: symbolic, made when the request is sent.

type Recipe =
  | { kind: 'text'; text: string }
  | { kind: 'shaped'; header: unknown; payload: unknown; signature: string; parts: number }
  | { kind: 'none'; claims: Claims; header: Record<string, unknown> }
  | { kind: 'hmac'; alg: 'HS256' | 'HS384' | 'HS512'; secret: SecretChoice; claims: Claims }
  | { kind: 'attacker'; header: Record<string, unknown>; claims: Claims }
  | { kind: 'mutated'; how: Mutation; at: number; char: string }
  | { kind: 'stale'; which: number }
  | { kind: 'huge'; size: number; shape: 'flat' | 'jwt' }

type SecretChoice = 'x' | 'x-bytes' | 'jwk-json' | 'kid' | 'empty' | 'pem-ish'
type Mutation = 'char' | 'append' | 'truncate' | 'swap' | 'payload' | 'drop-signature' | 'case'

/** Claims for alice or root as the service issues them, possibly with a twist. */
interface Claims {
  who: 'alice' | 'root'
  role?: unknown
  extra: Record<string, unknown>
}

const CLAIM_VALUES = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1e300, '', 'usersvc', 'admin', [], {}, ['usersvc']),
  nastyString(20),
  fc.integer(),
)

const claims: fc.Arbitrary<Claims> = fc.record({
  who: fc.constantFrom('alice' as const, 'root' as const),
  role: fc.constantFrom('user', 'admin', undefined),
  extra: fc.dictionary(
    fc.constantFrom('sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'role', 'scope', 'admin'),
    CLAIM_VALUES,
    { maxKeys: 2 },
  ),
})

/** Header members an attacker would try; jku/jwk/x5u/x5c must never be honoured. */
const headerExtras = fc.dictionary(
  fc.constantFrom('jku', 'jwk', 'x5u', 'x5c', 'x5t', 'crit', 'b64', 'zip', 'cty', 'typ', 'kid'),
  fc.oneof(
    CLAIM_VALUES,
    fc.constantFrom(
      'https://evil.example/jwks.json',
      'http://127.0.0.1/',
      'file:///etc/passwd',
      '../../../../dev/null',
      'at+jwt',
      ['exp'],
      ['MIIB'],
    ),
  ),
  { maxKeys: 3 },
)

const ALGS = [
  'none',
  'None',
  'NONE',
  'nOnE',
  'HS256',
  'HS512',
  'RS256',
  'ES256',
  'PS256',
  'EdDSA',
  'Ed25519',
  'ES256K',
  '',
  'A128KW',
  'dir',
]

const recipe: fc.Arbitrary<Recipe> = fc.oneof(
  // Any text a client could send.
  fc
    .oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 200 }),
      fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,300}=*$/),
      fc.stringMatching(/^[A-Za-z0-9_-]{0,60}\.[A-Za-z0-9_-]{0,200}\.[A-Za-z0-9_-]{0,90}$/),
      fc.constantFrom(
        '',
        ' ',
        '.',
        '..',
        '...',
        'null',
        'undefined',
        'Bearer',
        'e30.e30.',
        'e30.e30.e30',
      ),
    )
    .map((text): Recipe => ({ kind: 'text', text })),
  // JWT-shaped with any header and payload.
  fc
    .record({
      header: fc.oneof(
        fc.record(
          {
            alg: fc.oneof(fc.constantFrom(...ALGS), nastyString(10)),
            typ: fc.constantFrom('at+jwt', 'JWT', 'application/at+jwt', 'AT+JWT', ''),
            kid: fc.oneof(fc.constant<unknown>('REAL'), CLAIM_VALUES),
          },
          { requiredKeys: [] },
        ),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      payload: fc.oneof(claims, fc.jsonValue({ maxDepth: 2 })),
      signature: fc.oneof(
        fc.constant(''),
        fc.uint8Array({ minLength: 64, maxLength: 64 }).map(b64u),
        fc.stringMatching(/^[A-Za-z0-9_-]{0,100}$/),
      ),
      parts: fc.constantFrom(3, 3, 3, 2, 4, 5),
    })
    .map((r): Recipe => ({ kind: 'shaped', ...r })),
  // alg "none" (an unsecured JWT), valid claims otherwise.
  fc
    .record({
      claims,
      header: fc.constantFrom({}, { kid: 'REAL' }, { kid: 'REAL', typ: 'at+jwt' }),
    })
    .map((r): Recipe => ({ kind: 'none', ...r })),
  // HMAC keyed with the public key material (algorithm confusion).
  fc
    .record({
      alg: fc.constantFrom('HS256' as const, 'HS384' as const, 'HS512' as const),
      secret: fc.constantFrom<SecretChoice>('x', 'x-bytes', 'jwk-json', 'kid', 'empty', 'pem-ish'),
      claims,
    })
    .map((r): Recipe => ({ kind: 'hmac', ...r })),
  // EdDSA with the attacker's own key: the real kid, an embedded jwk, a jku, x5u or x5c.
  fc
    .record({
      header: fc.oneof(
        fc.constantFrom<Record<string, unknown>>(
          { kid: 'REAL' },
          { jwk: 'ATTACKER' },
          { kid: 'REAL', jwk: 'ATTACKER' },
          { kid: 'REAL', jku: 'https://evil.example/jwks.json' },
          { jku: 'https://evil.example/jwks.json' },
          { kid: 'REAL', x5u: 'https://evil.example/cert.pem' },
          { kid: 'REAL', x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] },
          { kid: 'ATTACKER' },
          {},
        ),
        headerExtras.map((h) => ({ kid: 'REAL', ...h })),
      ),
      claims,
    })
    .map((r): Recipe => ({ kind: 'attacker', ...r })),
  // A real token of alice's, damaged.
  fc
    .record({
      how: fc.constantFrom<Mutation>(
        'char',
        'append',
        'truncate',
        'swap',
        'payload',
        'drop-signature',
        'case',
      ),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      char: fc.constantFrom('A', 'b', '-', '_', '0', '.', '=', '+', '/'),
    })
    .map((r): Recipe => ({ kind: 'mutated', ...r })),
  fc.nat({ max: 2 }).map((which): Recipe => ({ kind: 'stale', which })),
  fc
    .record({
      size: fc.oneof(
        fc.integer({ min: 1000, max: 20_000 }),
        fc.integer({ min: 20_000, max: 1_000_000 }),
      ),
      shape: fc.constantFrom('flat' as const, 'jwt' as const),
    })
    .map((r): Recipe => ({ kind: 'huge', ...r })),
)

function claimSet(kit: Kit, c: Claims): Record<string, unknown> {
  const account = kit.accounts[c.who]
  const now = Math.floor(Date.now() / 1000)
  return {
    role: c.role ?? account.role,
    iss: 'usersvc',
    aud: 'usersvc',
    sub: account.id,
    iat: now,
    exp: now + 600,
    jti: 'c0ffee',
    ...c.extra,
  }
}

function realHeaders(kit: Kit, header: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(header)) {
    out[k] =
      v === 'REAL' ? kit.kid : v === 'ATTACKER' ? (k === 'jwk' ? kit.attacker.jwk : 'attacker') : v
  }
  return out
}

function hmacSecret(kit: Kit, choice: SecretChoice): Buffer {
  const x = String(kit.publicJwk.x)
  switch (choice) {
    case 'x':
      return Buffer.from(x)
    case 'x-bytes':
      return Buffer.from(x, 'base64url')
    case 'jwk-json':
      return Buffer.from(JSON.stringify(kit.publicJwk))
    case 'kid':
      return Buffer.from(kit.kid)
    case 'empty':
      return Buffer.alloc(0)
    case 'pem-ish':
      return Buffer.from(`-----BEGIN PUBLIC KEY-----\n${x}\n-----END PUBLIC KEY-----\n`)
  }
}

async function makeToken(kit: Kit, r: Recipe): Promise<string> {
  switch (r.kind) {
    case 'text':
      return r.text
    case 'shaped': {
      const header =
        typeof r.header === 'object' && r.header !== null && !Array.isArray(r.header)
          ? realHeaders(kit, r.header as Record<string, unknown>)
          : r.header
      const payload =
        typeof r.payload === 'object' && r.payload !== null && 'who' in r.payload
          ? claimSet(kit, r.payload as Claims)
          : r.payload
      const parts = [json(header), json(payload), r.signature, json({}), b64u('x')]
      return parts.slice(0, r.parts).join('.')
    }
    case 'none':
      return new UnsecuredJWT(claimSet(kit, r.claims))
        .encode()
        .replace(/^[^.]+/, () => json({ alg: 'none', ...realHeaders(kit, r.header) }))
    case 'hmac': {
      const input = `${json({ alg: r.alg, kid: kit.kid, typ: 'at+jwt' })}.${json(claimSet(kit, r.claims))}`
      const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[r.alg]
      return `${input}.${createHmac(hash, hmacSecret(kit, r.secret)).update(input).digest('base64url')}`
    }
    case 'attacker': {
      const header = { typ: 'at+jwt', ...realHeaders(kit, r.header), alg: 'EdDSA' }
      return signEd25519(header, claimSet(kit, r.claims), kit.attacker.key)
    }
    case 'mutated':
      return mutate(kit.accounts.alice.accessToken, kit, r)
    case 'stale':
      return kit.stale[r.which] as string
    case 'huge':
      return r.shape === 'flat'
        ? 'A'.repeat(r.size)
        : `${json({ alg: 'EdDSA', kid: kit.kid, typ: 'at+jwt' })}.${b64u('x'.repeat(r.size))}.${b64u('s'.repeat(64))}`
  }
}

const B64U = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Damages a real token so that it is certainly not that token any more. */
function mutate(token: string, kit: Kit, r: { how: Mutation; at: number; char: string }): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  const segments = [h, p, s]
  switch (r.how) {
    case 'char': {
      // A character inside a segment (never its last, whose low bits may be padding).
      const which = Math.min(2, Math.floor(r.at * 3))
      const seg = segments[which] as string
      const i = Math.floor(((r.at * 3) % 1) * (seg.length - 1))
      const old = seg[i] as string
      const next = B64U[(B64U.indexOf(old) + 1 + Math.floor(r.at * 62)) % 64] as string
      segments[which] = `${seg.slice(0, i)}${next}${seg.slice(i + 1)}`
      return segments.join('.')
    }
    case 'append':
      return `${token}${r.char}`
    case 'truncate':
      return token.slice(0, Math.floor(r.at * (token.length - 1)))
    case 'swap':
      return [p, h, s].join('.')
    case 'payload': {
      // alice's signature over a payload that names root, an admin.
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
      return [h, json({ ...claims, sub: kit.accounts.root.id, role: 'admin' }), s].join('.')
    }
    case 'drop-signature':
      return `${h}.${p}.`
    case 'case':
      return token === token.toUpperCase() ? token.toLowerCase() : token.toUpperCase()
  }
}

const SCHEMES = [
  'Bearer %s',
  'bearer %s',
  'Bearer  %s',
  '%s',
  'Basic %s',
  'Bearer %s %s',
  'Bearer\t%s',
  'DPoP %s',
]

// The routes that want a token; each answers 401 before it looks at anything else.
const PROTECTED: Array<(kit: Kit) => Req> = [
  () => ({ method: 'GET', url: '/user/me' }),
  () => ({ method: 'HEAD', url: '/user/me' }),
  (kit) => ({ method: 'GET', url: `/user/${kit.accounts.alice.id}` }),
  () => ({ method: 'GET', url: '/user/?limit=5' }),
  () => ({
    method: 'PUT',
    url: '/user/me/password',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      current_password: PASSWORD,
      new_password: 'granite lantern orchard velvet',
    }),
  }),
  () => ({ method: 'DELETE', url: '/user/me' }),
  (kit) => ({ method: 'DELETE', url: `/user/${kit.accounts.root.id}` }),
]

describe('fuzzing Bearer tokens', () => {
  test('garbage, forged, damaged, stale and huge tokens are 401 invalid_token on GET /user/me and every protected route', async (t) => {
    const { app, clock } = await makeApp(t)
    const kit = await makeKit(app, clock)
    const cases = fc.record({
      recipe,
      scheme: fc.constantFrom(...SCHEMES),
      route: fc.oneof(
        { arbitrary: fc.constant(0), weight: 6 },
        { arbitrary: fc.nat({ max: PROTECTED.length - 1 }), weight: 4 },
      ),
    })
    await fc.assert(
      fc.asyncProperty(cases, async ({ recipe: r, scheme, route }) => {
        const token = await makeToken(kit, r)
        const base = (PROTECTED[route] as (kit: Kit) => Req)(kit)
        const req: Req = {
          ...base,
          headers: { ...base.headers, authorization: scheme.replaceAll('%s', token) },
        }
        const what = `${r.kind}: ${show(req)}`
        const before = await snapshot(app)
        const res = await send(app, req)
        assertProblem(res, 401, 'invalid_token', what, { method: req.method })
        assertSameStore(before, await snapshot(app), what)
      }),
      { numRuns: 2000 },
    )
    // The control: the unharmed token of each test user is accepted.
    for (const account of [kit.accounts.alice, kit.accounts.root]) {
      const res = await send(app, {
        method: 'GET',
        url: '/user/me',
        headers: { authorization: `Bearer ${account.accessToken}` },
      })
      assert.equal(res.statusCode, 200, res.body)
    }
  })
})
