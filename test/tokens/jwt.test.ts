// Access tokens as other services see them (JWKS, claims, expiry), and how the service refuses a
// missing, malformed or expired Bearer token. test/tokens/forgery.test.ts covers forged tokens.
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
} from 'jose'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem, BEARER_CHALLENGE } from '../support/problems.ts'
import { bearer, jwks, listSessions, login, type Session, signUp } from '../support/requests.ts'
import { assertTokenAccepted, assertTokenRejected, VERIFY } from '../support/tokens.ts'

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
        'aal',
        'amr',
        'aud',
        'exp',
        'iat',
        'iss',
        'jti',
        'role',
        'sid',
        'sub',
      ])
      // A password login: RFC 8176 "pwd", one factor (NIST SP 800-63B rev 4 AAL1).
      assert.deepEqual(payload.amr, ['pwd'])
      assert.equal(payload.aal, 'aal1')
      const sessions = await listSessions(app, session.access_token)
      assert.equal(payload.sid, sessions.json().items[0].id)
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
  })
}
