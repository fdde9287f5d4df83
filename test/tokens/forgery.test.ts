// Access tokens the service must refuse: forged (alg none, foreign keys, HMAC with the public key,
// tampered, embedded keys), wrong claims under the real key, and tokens of other deployments.
import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import {
  type CryptoKey,
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  EmbeddedJWK,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose'
import { dialects, makeApp } from '../support/harness.ts'
import { jwks, login, type Session, signUp } from '../support/requests.ts'
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
  describe(`forged and foreign access tokens (${dialect})`, () => {
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
