// SIGNING_KEY_SECRET: private signing keys are stored encrypted, and every way of getting the
// secret wrong stops the service at start-up with a message that says so.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { decodeProtectedHeader } from 'jose'
import type { App } from '../../src/app.ts'
import { ConfigError, loadConfig } from '../../src/config/index.ts'
import { createKeyStore } from '../../src/tokens/keystore.ts'
import { createSealer } from '../../src/tokens/sealing.ts'
import { dialects, freshDatabaseUrl, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { health, jwks, session as logIn, login, type Session, signUp } from '../support/requests.ts'
import { assertTokenAccepted } from '../support/tokens.ts'

const OLD = 'old secret at least thirty-two characters long'
const NEW = 'new secret also thirty-two characters or more'
// Every use re-reads the keys (after a millisecond has passed: see keys.test.ts).
const NO_KEY_CACHE = { KEY_CACHE_SECONDS: '0' }
const nextMillisecond = () => sleep(2)

type Row = { kid: string; stored: string }

/** Readiness: the status code and the signing key check. */
async function ready(app: App): Promise<[number, string]> {
  const res = await health(app, 'ready')
  return [res.statusCode, res.json().checks.signing_key]
}

async function privateRows(app: App) {
  const rows = await app.store.db
    .selectFrom('signing_keys')
    .select(['kid', 'private_jwk'])
    .where('private_jwk', 'is not', null)
    .execute()
  return rows.map((r) => ({ kid: r.kid, stored: r.private_jwk as string }))
}

/** The stored key is a JWE for this key, under the secret given, with nothing of the JWK in clear. */
async function assertSealed(row: { kid: string; stored: string }, secret: string) {
  assert.equal(row.stored.split('.').length, 5, 'JWE compact serialisation')
  const header = decodeProtectedHeader(row.stored)
  assert.equal(header.alg, 'dir')
  assert.equal(header.enc, 'A256GCM')
  assert.equal(header.sk, row.kid)
  const sealer = createSealer([secret])
  assert.equal(sealer.isCurrent(row.stored), true)
  const jwk = JSON.parse(await sealer.open(row.kid, row.stored)) as { d: string; x: string }
  assert.equal(jwk.d.length, 43, 'an Ed25519 private key')
  assert.ok(!row.stored.includes(jwk.d), 'the private key is not in the stored text')
}

describe('sealer', () => {
  test('opens what it sealed, for the same key only; other secrets and damage are refused', async () => {
    const sealer = createSealer([NEW, OLD])
    const sealed = await sealer.seal('kid-a', '{"kty":"OKP","d":"secret"}')
    assert.equal(await sealer.open('kid-a', sealed), '{"kty":"OKP","d":"secret"}')
    await assert.rejects(sealer.open('kid-b', sealed), /signing key kid-b: .* does not open/)
    await assert.rejects(createSealer([OLD]).open('kid-a', sealed), /SIGNING_KEY_SECRET/)
    await assert.rejects(createSealer([]).open('kid-a', sealed), /it is not set/)
    const [head, key, iv, text, tag] = sealed.split('.')
    const flipped = `${text?.[0] === 'A' ? 'B' : 'A'}${text?.slice(1)}`
    await assert.rejects(
      sealer.open('kid-a', [head, key, iv, flipped, tag].join('.')),
      /does not open/,
    )
    await assert.rejects(sealer.open('kid-a', 'garbage'), /damaged/)
    // Rows from before the secret: plain JSON, still read, but not current.
    assert.equal(await sealer.open('kid-a', '{"kty":"OKP"}'), '{"kty":"OKP"}')
    assert.equal(sealer.isCurrent('{"kty":"OKP"}'), false)
    assert.equal(createSealer([OLD, NEW]).isCurrent(sealed), false)
    // No secret: plain in, plain out.
    assert.equal(await createSealer([]).seal('kid-a', '{"a":1}'), '{"a":1}')
  })

  test('a short secret stops start-up, naming the variable and not echoing the value', () => {
    assert.throws(
      () => loadConfig({ SIGNING_KEY_SECRET: `${NEW},short one` }),
      (error: Error) =>
        error instanceof ConfigError &&
        /SIGNING_KEY_SECRET: each secret must be at least 32/.test(error.message) &&
        !error.message.includes('short one'),
    )
    assert.deepEqual(
      loadConfig({ SIGNING_KEY_SECRET: ` ${NEW} , ${OLD}` }).tokens.signingKeySecrets,
      [NEW, OLD],
    )
  })
})

for (const dialect of dialects()) {
  describe(`SIGNING_KEY_SECRET (${dialect})`, () => {
    test('keys are stored sealed; tokens sign and verify as usual, across instances', async (t) => {
      const first = await makeApp(t, { dialect, env: { SIGNING_KEY_SECRET: NEW } })
      const rows = await privateRows(first.app)
      assert.equal(rows.length, 1)
      await assertSealed(rows[0] as (typeof rows)[0], NEW)
      const session = await signUp(first.app, 'sealed')
      await assertTokenAccepted(first.app, session.access_token, session.user.id, 'own token')

      const second = await makeApp(t, {
        databaseUrl: first.databaseUrl,
        env: { SIGNING_KEY_SECRET: NEW },
      })
      await assertTokenAccepted(second.app, session.access_token, session.user.id, 'other one')
      const theirs = await signUp(second.app, 'sealed2')
      await assertTokenAccepted(first.app, theirs.access_token, theirs.user.id, 'from the other')

      await second.app.keys.rotate()
      const rotated = await privateRows(second.app)
      assert.equal(rotated.length, 1, 'the retired key keeps no private half')
      await assertSealed(rotated[0] as (typeof rotated)[0], NEW)
    })

    test('without the secret, or with another one, the service does not start', async (t) => {
      const databaseUrl = await freshDatabaseUrl(t, dialect)
      await makeApp(t, { databaseUrl, env: { SIGNING_KEY_SECRET: NEW } })
      await assert.rejects(makeApp(t, { databaseUrl }), /SIGNING_KEY_SECRET .*\(it is not set\)/)
      await assert.rejects(
        makeApp(t, { databaseUrl, env: { SIGNING_KEY_SECRET: OLD } }),
        /encrypted with a secret that SIGNING_KEY_SECRET does not hold/,
      )
    })

    test('plain keys are sealed once a secret is set; a changed secret re-seals them', async (t) => {
      const plain = await makeApp(t, { dialect })
      const [before] = await privateRows(plain.app)
      assert.ok(before)
      assert.equal(JSON.parse(before.stored).kty, 'OKP', 'stored in clear without a secret')
      const session = await signUp(plain.app, 'upgraded')
      const { databaseUrl } = plain

      const withOld = await makeApp(t, { databaseUrl, env: { SIGNING_KEY_SECRET: OLD } })
      const [sealedOld] = await privateRows(withOld.app)
      assert.equal(sealedOld?.kid, before.kid, 'the same key, now sealed')
      await assertSealed(sealedOld as typeof before, OLD)
      // Same key: tokens signed before the secret was set still verify.
      await assertTokenAccepted(withOld.app, session.access_token, session.user.id, 'older token')

      // Step 1 of a change: the new secret can open, the old one still seals.
      const both = await makeApp(t, { databaseUrl, env: { SIGNING_KEY_SECRET: `${OLD},${NEW}` } })
      assert.equal((await privateRows(both.app))[0]?.stored, sealedOld?.stored)
      // Step 2: the new one seals; the key is re-sealed under it.
      const swapped = await makeApp(t, {
        databaseUrl,
        env: { SIGNING_KEY_SECRET: `${NEW},${OLD}` },
      })
      const [sealedNew] = await privateRows(swapped.app)
      await assertSealed(sealedNew as typeof before, NEW)
      // Step 3: the old secret is no longer needed.
      const only = await makeApp(t, { databaseUrl, env: { SIGNING_KEY_SECRET: NEW } })
      await assertTokenAccepted(only.app, session.access_token, session.user.id, 'after the change')
      const again = await signUp(only.app, 'afterwards')
      await assertTokenAccepted(only.app, again.access_token, again.user.id, 'new token')
    })

    test('a running instance keeps signing when another seals its key under a secret it lacks', async (t) => {
      const running = await makeApp(t, { dialect, env: NO_KEY_CACHE })
      const sealing = await makeApp(t, {
        databaseUrl: running.databaseUrl,
        env: { ...NO_KEY_CACHE, SIGNING_KEY_SECRET: NEW },
      })
      await assertSealed((await privateRows(sealing.app))[0] as Row, NEW)
      await nextMillisecond()
      // It re-reads the keys on every use (KEY_CACHE_SECONDS=0) and keeps the one it opened.
      const session = await signUp(running.app, 'keeps')
      await assertTokenAccepted(sealing.app, session.access_token, session.user.id, 'its token')
      assert.deepEqual(await ready(running.app), [200, 'ok'])
    })

    test('a key rotated under a secret an instance lacks: it stops signing and says so; verifying goes on', async (t) => {
      const old = await makeApp(t, { dialect, env: { ...NO_KEY_CACHE, SIGNING_KEY_SECRET: OLD } })
      const other = await makeApp(t, {
        databaseUrl: old.databaseUrl,
        env: { ...NO_KEY_CACHE, SIGNING_KEY_SECRET: `${NEW},${OLD}` },
      })
      const newKid = await other.app.keys.rotate()
      await nextMillisecond()
      assertProblem(await login(old.app, 'nobody'), 401, 'invalid_credentials')
      await signUp(other.app, 'signer')
      const res = await login(old.app, 'signer')
      assert.equal(res.statusCode, 500, res.body)
      assert.equal(res.json().code, 'internal')
      assert.doesNotMatch(res.body, /SIGNING_KEY_SECRET|secret/, 'nothing internal in the answer')
      assert.deepEqual(await ready(old.app), [503, 'down'])
      // Public halves need no secret: tokens of the new key verify here, and it is published.
      const session = (await login(other.app, 'signer')).json() as Session
      assert.equal(decodeProtectedHeader(session.access_token).kid, newKid)
      await assertTokenAccepted(old.app, session.access_token, session.user.id, 'new key at old')
      assert.ok((await jwks(old.app)).keys.some((k) => k.kid === newKid))
      // Restarted with the secret, it signs again.
      const restarted = await makeApp(t, {
        databaseUrl: old.databaseUrl,
        env: { SIGNING_KEY_SECRET: NEW },
      })
      assert.equal((await login(restarted.app, 'signer')).statusCode, 200)
      assert.deepEqual(await ready(restarted.app), [200, 'ok'])
    })

    test('a lost secret: a rotation under a new one recovers, and older tokens still verify', async (t) => {
      const lost = await makeApp(t, { dialect, env: { SIGNING_KEY_SECRET: OLD } })
      const session = await signUp(lost.app, 'survivor')
      const { databaseUrl } = lost
      await assert.rejects(makeApp(t, { databaseUrl, env: { SIGNING_KEY_SECRET: NEW } }))
      // What `SIGNING_KEY_SECRET=new usersvc keys rotate` does: it needs no old key opened.
      const keys = createKeyStore({
        db: lost.app.store.db,
        clock: lost.clock,
        accessTtlSeconds: 900,
        cacheSeconds: 0,
        sealer: createSealer([NEW]),
      })
      await keys.rotate()
      const recovered = await makeApp(t, { databaseUrl, env: { SIGNING_KEY_SECRET: NEW } })
      await assertTokenAccepted(recovered.app, session.access_token, session.user.id, 'old key')
      const again = await logIn(recovered.app, 'survivor')
      await assertTokenAccepted(recovered.app, again.access_token, again.user.id, 'new key')
    })
  })
}
