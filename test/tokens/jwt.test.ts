import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import {
  type CryptoKey,
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  EmbeddedJWK,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem, BEARER_CHALLENGE } from '../support/problems.ts'
import { bearer, jwks, login, type Session, signUp } from '../support/requests.ts'
import {
  activeSigningKey,
  assertTokenAccepted,
  assertTokenRejected,
  VERIFY,
} from '../support/tokens.ts'

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

async function foreignKeyPair() {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', {
    crv: 'Ed25519',
    extractable: true,
  })
  const publicJwk = await exportJWK(publicKey)
  return { publicKey, privateKey, publicJwk, kid: await calculateJwkThumbprint(publicJwk) }
}

/** Signs the claims of `template` (with changes) under the given header and key. */
function sign(
  key: CryptoKey,
  header: Record<string, unknown>,
  template: JWTPayload,
  changes: Record<string, unknown> = {},
): Promise<string> {
  const payload: Record<string, unknown> = { ...template, ...changes }
  for (const [name, value] of Object.entries(changes)) if (value === undefined) delete payload[name]
  return new SignJWT(payload as JWTPayload)
    .setProtectedHeader({ alg: 'EdDSA', ...header } as { alg: string })
    .sign(key)
}

for (const dialect of dialects()) {
  describe(`access tokens and JWKS (${dialect})`, () => {
    test('another service verifies the access token from the JWKS alone', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      // Mid-second: the token is stamped 1 ms after the registration, still in this second.
      clock.freeze(new Date(Math.floor(Date.now() / 1000) * 1000 + 500))
      const session = await signUp(app, 'verifiable')
      const set = await jwks(app)
      const { payload, protectedHeader } = await jwtVerify(
        session.access_token,
        createLocalJWKSet(set),
        VERIFY,
      )
      assert.equal(protectedHeader.alg, 'EdDSA')
      assert.equal(protectedHeader.typ, 'at+jwt')
      assert.ok(protectedHeader.kid)
      assert.ok(set.keys.some((k) => k.kid === protectedHeader.kid))
      assert.deepEqual(Object.keys(protectedHeader).sort(), ['alg', 'kid', 'typ'])

      assert.deepEqual(Object.keys(payload).sort(), [
        'aud',
        'exp',
        'iat',
        'iss',
        'jti',
        'role',
        'sub',
      ])
      assert.equal(payload.iss, 'usersvc')
      assert.equal(payload.aud, 'usersvc')
      assert.equal(payload.sub, session.user.id)
      assert.equal(payload.role, 'user')
      assert.equal(payload.iat, Math.floor(clock.now().getTime() / 1000))
      assert.equal(payload.exp, (payload.iat as number) + 900)
      assert.match(payload.jti as string, /^[0-9a-f-]{36}$/)

      // Every token has its own jti.
      const again = (await login(app, 'verifiable')).json() as Session
      assert.notEqual(decodeJwt(again.access_token).jti, payload.jti)
    })

    test('an admin token says so in the role claim', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await app.users.register('boss', 'correct horse battery staple', 'admin')
      const session = (await login(app, 'boss')).json() as Session
      const { payload } = await jwtVerify(
        session.access_token,
        createLocalJWKSet(await jwks(app)),
        VERIFY,
      )
      assert.equal(payload.role, 'admin')
      assert.equal(session.user.role, 'admin')
    })

    test('exp follows ACCESS_TOKEN_TTL_SECONDS; iss and aud follow TOKEN_ISSUER/TOKEN_AUDIENCE', async (t) => {
      const { app } = await makeApp(t, {
        dialect,
        env: {
          ACCESS_TOKEN_TTL_SECONDS: '60',
          TOKEN_ISSUER: 'https://id.example',
          TOKEN_AUDIENCE: 'api',
        },
      })
      const session = await signUp(app, 'configured')
      const { payload } = await jwtVerify(
        session.access_token,
        createLocalJWKSet(await jwks(app)),
        {
          issuer: 'https://id.example',
          audience: 'api',
          algorithms: ['EdDSA'],
        },
      )
      assert.equal((payload.exp as number) - (payload.iat as number), 60)
      assert.equal(session.expires_in, 60)
      await assertTokenAccepted(app, session.access_token, session.user.id, 'own token')
    })

    test('verifies over a real port with createRemoteJWKSet', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'remote')
      await app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = app.server.address() as AddressInfo
      const set = createRemoteJWKSet(new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`))
      const { payload } = await jwtVerify(session.access_token, set, VERIFY)
      assert.equal(payload.sub, session.user.id)
      // And the protected route works over the wire too.
      const res = await fetch(`http://127.0.0.1:${port}/user/me`, {
        headers: bearer(session.access_token),
      })
      assert.equal(res.status, 200)
      assert.equal(((await res.json()) as { id: string }).id, session.user.id)
    })

    test('the JWKS holds public Ed25519 keys only', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
      assert.equal(res.headers['cache-control'], 'public, max-age=300')
      const set = res.json() as JSONWebKeySet
      assert.deepEqual(Object.keys(set), ['keys'])
      assert.equal(set.keys.length, 1)
      for (const key of set.keys) {
        assert.deepEqual(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x'])
        assert.equal(key.kty, 'OKP')
        assert.equal(key.crv, 'Ed25519')
        assert.equal(key.alg, 'EdDSA')
        assert.equal(key.use, 'sig')
        assert.equal(Buffer.from(key.x as string, 'base64url').length, 32)
        assert.ok(!('d' in key))
      }
      assert.ok(!res.body.includes('"d"'))
      // The private half that exists in the store is not what is served.
      const row = await app.store.db
        .selectFrom('signing_keys')
        .selectAll()
        .executeTakeFirstOrThrow()
      const privateJwk = JSON.parse(row.private_jwk as string) as JWK
      assert.ok(privateJwk.d)
      assert.ok(!res.body.includes(privateJwk.d))
    })

    test('missing or non-Bearer credentials: 401 invalid_token without an error attribute', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const cases: Array<Record<string, string>> = [{}, { authorization: 'Basic YWxpY2U6c2VjcmV0' }]
      for (const headers of cases) {
        const res = await app.inject({ method: 'GET', url: '/user/me', headers })
        assertProblem(res, 401, 'invalid_token', JSON.stringify(headers))
        assert.equal(res.headers['www-authenticate'], BEARER_CHALLENGE)
      }
    })

    test('the Bearer scheme is case-insensitive; garbage tokens are invalid_token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'schemes')
      const ok = await app.inject({
        method: 'GET',
        url: '/user/me',
        headers: { authorization: `bearer ${session.access_token}` },
      })
      assert.equal(ok.statusCode, 200, ok.body)
      for (const token of ['abc', 'a.b.c', `${session.access_token}x`, session.refresh_token]) {
        await assertTokenRejected(app, token, token)
      }
    })

    test('an expired token is 401 invalid_token; jose agrees', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze()
      const session = await signUp(app, 'expiring')
      clock.advance(899)
      await assertTokenAccepted(app, session.access_token, session.user.id, '1 s before exp')
      clock.advance(2)
      await assertTokenRejected(app, session.access_token, '1 s after exp')

      const set = createLocalJWKSet(await jwks(app))
      const { exp } = decodeJwt(session.access_token)
      await assert.rejects(
        jwtVerify(session.access_token, set, {
          ...VERIFY,
          currentDate: new Date(((exp as number) + 1) * 1000),
        }),
        { code: 'ERR_JWT_EXPIRED' },
      )
      // A fresh login gives a token that is valid at the (moved) time.
      const fresh = (await login(app, 'expiring')).json() as Session
      await assertTokenAccepted(app, fresh.access_token, session.user.id, 'fresh token')
    })

    test('alg "none" with the real kid is refused', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'nonealg')
      const { kid } = decodeProtectedHeader(session.access_token)
      const payload = decodeJwt(session.access_token)
      for (const alg of ['none', 'None', 'NONE']) {
        const token = `${part({ alg, typ: 'at+jwt', kid })}.${part(payload)}.`
        await assertTokenRejected(app, token, `alg ${alg}`)
      }
      // Nor with the real signature left on.
      const signature = session.access_token.split('.')[2]
      await assertTokenRejected(
        app,
        `${part({ alg: 'none', typ: 'at+jwt', kid })}.${part(payload)}.${signature}`,
        'alg none with a signature',
      )
    })

    test('a token signed by a foreign key under the real kid is refused', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'foreign')
      const { kid } = decodeProtectedHeader(session.access_token)
      const foreign = await foreignKeyPair()
      const token = await sign(
        foreign.privateKey,
        { typ: 'at+jwt', kid },
        decodeJwt(session.access_token),
      )
      // The token is otherwise perfect: it verifies under the foreign public key.
      await jwtVerify(token, foreign.publicKey, VERIFY)
      await assertTokenRejected(app, token, 'foreign key, real kid')
      // Under its own kid it is an unknown key.
      const ownKid = await sign(
        foreign.privateKey,
        { typ: 'at+jwt', kid: foreign.kid },
        decodeJwt(session.access_token),
      )
      await assertTokenRejected(app, ownKid, 'foreign key, foreign kid')
    })

    test('HS256 keyed with the public key is refused (algorithm confusion)', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'confused')
      const { kid } = decodeProtectedHeader(session.access_token)
      const payload = decodeJwt(session.access_token)
      const published = (await jwks(app)).keys.find((k) => k.kid === kid)
      assert.ok(published?.x)
      const publicKey = (await importJWK(published, 'EdDSA', { extractable: true })) as CryptoKey
      const secrets: Array<[string, Buffer]> = [
        ['raw x bytes', Buffer.from(published.x, 'base64url')],
        ['x as text', Buffer.from(published.x)],
        ['JWK as JSON', Buffer.from(JSON.stringify(published))],
        ['SPKI PEM', Buffer.from(await exportSPKI(publicKey))],
      ]
      for (const alg of ['HS256', 'HS512']) {
        for (const [what, secret] of secrets) {
          const input = `${part({ alg, typ: 'at+jwt', kid })}.${part(payload)}`
          const mac = createHmac(alg === 'HS256' ? 'sha256' : 'sha512', secret)
            .update(input)
            .digest('base64url')
          await assertTokenRejected(app, `${input}.${mac}`, `${alg} with ${what}`)
        }
      }
    })

    test('a tampered payload with the original signature is refused', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const victim = await signUp(app, 'victim')
      const other = await signUp(app, 'other')
      const [header, , signature] = victim.access_token.split('.') as [string, string, string]
      const payload = decodeJwt(victim.access_token)
      const changes: Array<Record<string, unknown>> = [
        { role: 'admin' },
        { sub: other.user.id },
        { exp: (payload.exp as number) + 86400 },
        { aud: 'usersvc ' },
      ]
      for (const change of changes) {
        const token = `${header}.${part({ ...payload, ...change })}.${signature}`
        await assertTokenRejected(app, token, JSON.stringify(change))
      }
      // The untouched token is fine.
      await assertTokenAccepted(app, victim.access_token, victim.user.id, 'untouched')
    })

    test('a key embedded in the header (jwk, jku, x5c) is never trusted', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'embedded')
      const payload = decodeJwt(session.access_token)
      const { kid: realKid } = decodeProtectedHeader(session.access_token)
      const own = await foreignKeyPair()

      const withJwk = await sign(own.privateKey, { typ: 'at+jwt', jwk: own.publicJwk }, payload)
      // A verifier that honoured the header's key would accept it:
      await jwtVerify(withJwk, EmbeddedJWK, VERIFY)
      await assertTokenRejected(app, withJwk, 'embedded jwk, no kid')
      await assertTokenRejected(
        app,
        await sign(own.privateKey, { typ: 'at+jwt', kid: own.kid, jwk: own.publicJwk }, payload),
        'embedded jwk with its own kid',
      )
      await assertTokenRejected(
        app,
        await sign(own.privateKey, { typ: 'at+jwt', kid: realKid, jwk: own.publicJwk }, payload),
        'embedded jwk with the real kid',
      )
      await assertTokenRejected(
        app,
        await sign(
          own.privateKey,
          { typ: 'at+jwt', kid: own.kid, jku: 'https://attacker.example/jwks.json' },
          payload,
        ),
        'jku',
      )
    })

    test('the same headers are refused even on a token signed with the real key', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'insider')
      const payload = decodeJwt(session.access_token)
      const real = await activeSigningKey(app)
      const own = await foreignKeyPair()
      const base = { typ: 'at+jwt', kid: real.kid }
      // Control: the forging helper makes tokens the service accepts.
      await assertTokenAccepted(
        app,
        await sign(real.key, base, payload),
        session.user.id,
        'control',
      )
      for (const extra of [
        { jwk: own.publicJwk },
        { jku: 'https://attacker.example/jwks.json' },
        { x5u: 'https://attacker.example/cert.pem' },
        { x5c: ['MIIB'] },
      ]) {
        await assertTokenRejected(
          app,
          await sign(real.key, { ...base, ...extra }, payload),
          Object.keys(extra)[0] as string,
        )
      }
    })

    test('claims are checked: audience, issuer, typ, required claims, role, subject', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      const session = await signUp(app, 'claims')
      const payload = decodeJwt(session.access_token)
      const real = await activeSigningKey(app)
      const header = { typ: 'at+jwt', kid: real.kid }
      const now = Math.floor(clock.now().getTime() / 1000)
      const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
        ['wrong audience', header, { aud: 'other' }],
        ['audience list without us', header, { aud: ['other', 'more'] }],
        ['wrong issuer', header, { iss: 'other' }],
        ['typ JWT', { ...header, typ: 'JWT' }, {}],
        ['no typ', { kid: real.kid }, {}],
        ['no kid', { typ: 'at+jwt' }, {}],
        ['unknown kid', { ...header, kid: 'nope' }, {}],
        ['no sub', header, { sub: undefined }],
        ['no jti', header, { jti: undefined }],
        ['no exp', header, { exp: undefined }],
        ['no iat', header, { iat: undefined }],
        ['no role', header, { role: undefined }],
        ['unknown role', header, { role: 'root' }],
        ['not yet valid', header, { nbf: now + 3600 }],
        ['unknown subject', header, { sub: randomUUID() }],
        ['issued before the user existed', header, { iat: now - 3600 }],
      ]
      for (const [what, h, changes] of cases) {
        await assertTokenRejected(app, await sign(real.key, h, payload, changes), what)
      }
    })

    test('tokens for another audience or issuer are refused, though signed with the same key', async (t) => {
      const first = await makeApp(t, { dialect })
      const session = await signUp(first.app, 'traveller')

      // Same database (so the same signing key and the same user), other audience or issuer.
      const others: Array<Record<string, string>> = [
        { TOKEN_AUDIENCE: 'other' },
        { TOKEN_ISSUER: 'other' },
      ]
      for (const env of others) {
        const second = await makeApp(t, { databaseUrl: first.databaseUrl, env })
        const theirs = (await login(second.app, 'traveller')).json() as Session
        assert.equal(
          decodeProtectedHeader(theirs.access_token).kid,
          decodeProtectedHeader(session.access_token).kid,
        )
        await assertTokenAccepted(
          second.app,
          theirs.access_token,
          session.user.id,
          `own ${JSON.stringify(env)}`,
        )
        await assertTokenRejected(
          first.app,
          theirs.access_token,
          `theirs at ours ${JSON.stringify(env)}`,
        )
        await assertTokenRejected(
          second.app,
          session.access_token,
          `ours at theirs ${JSON.stringify(env)}`,
        )
      }
    })

    test('tokens of a deployment on another database (other keys, other audience) are refused', async (t) => {
      const first = await makeApp(t, { dialect })
      const ours = await signUp(first.app, 'traveller')
      // Another database of the same kind: its own signing key and its own user "traveller".
      const elsewhere = await makeApp(t, { dialect, env: { TOKEN_AUDIENCE: 'other' } })
      const stranger = await signUp(elsewhere.app, 'traveller')
      assert.notEqual(
        decodeProtectedHeader(stranger.access_token).kid,
        decodeProtectedHeader(ours.access_token).kid,
      )
      await assertTokenRejected(first.app, stranger.access_token, 'theirs at ours')
      await assertTokenRejected(elsewhere.app, ours.access_token, 'ours at theirs')
    })
  })
}
