// The RS256 key for ID tokens (OIDC Core §15.1): added on first need, exactly once; published
// beside the EdDSA keys with public members only; rotated with them; sealed at rest; and never
// accepted for an access token.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type CryptoKey,
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose'
import type { App } from '../../src/app.ts'
import { systemClock } from '../../src/clock.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Store } from '../../src/db/schema.ts'
import { openStore } from '../../src/db/store.ts'
import { createKeyStore, type PublicJwk } from '../../src/tokens/keystore.ts'
import { createSealer } from '../../src/tokens/sealing.ts'
import { cli, showRun } from '../support/cli.ts'
import { trail } from '../support/events.ts'
import { type DialectName, dialects, freshDatabaseUrl, makeApp } from '../support/harness.ts'
import { jwks, signUp } from '../support/requests.ts'
import { assertTokenAccepted, assertTokenRejected, VERIFY } from '../support/tokens.ts'

const SECRET = 'a signing key secret of thirty-two characters or more'
// Every use re-reads the keys (after a millisecond has passed: see keys.test.ts).
const NO_KEY_CACHE = { KEY_CACHE_SECONDS: '0' }
const nextMillisecond = () => sleep(2)

/** What a relying party pins when it verifies our ID tokens. */
const ID_TOKEN = { issuer: 'usersvc', audience: 'client-1' }

function keyRows(db: Store['db']) {
  return db.selectFrom('signing_keys').selectAll().orderBy('generation').execute()
}

/** An ID token as the OpenID provider would sign it with this private JWK. */
async function idToken(jwk: JWK, sub: string): Promise<string> {
  const key = (await importJWK(jwk, jwk.alg)) as CryptoKey
  return new SignJWT({ nonce: 'n-0S6_WzA2Mj' })
    .setProtectedHeader({ alg: jwk.alg as string, kid: jwk.kid as string, typ: 'JWT' })
    .setIssuer(ID_TOKEN.issuer)
    .setAudience(ID_TOKEN.audience)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key)
}

/** The provider keys of an app, EdDSA and RS256 (adding the RS256 key if there is none). */
async function providerKeys(app: App): Promise<[JWK, JWK]> {
  const keys = await app.keys.providerKeys()
  assert.deepEqual(
    keys.map((k) => k.alg),
    ['EdDSA', 'RS256'],
  )
  return keys as [JWK, JWK]
}

/** The stored private half of key `kid`, as it is at rest. */
async function storedPrivate(app: App, kid: string): Promise<string> {
  const row = await app.store.db
    .selectFrom('signing_keys')
    .select('private_jwk')
    .where('kid', '=', kid)
    .executeTakeFirstOrThrow()
  assert.ok(row.private_jwk, `${kid} keeps its private half`)
  return row.private_jwk
}

/** Sealed: a JWE for this key that opens under `secret`, with nothing of the JWK in clear. */
async function assertSealed(kid: string, stored: string, d: string) {
  assert.throws(() => JSON.parse(stored), SyntaxError, 'not plain JSON')
  assert.equal(stored.split('.').length, 5, 'JWE compact serialisation')
  const header = decodeProtectedHeader(stored)
  assert.deepEqual([header.alg, header.enc, header.sk], ['dir', 'A256GCM', kid])
  assert.ok(!stored.includes(d), 'the private exponent is not in the stored text')
  assert.equal(JSON.parse(await createSealer([SECRET]).open(kid, stored)).d, d)
}

/**
 * Two key stores on one database, as two instances would be: on PostgreSQL each with its own
 * connections; on SQLite sharing the one connection an instance has (see keys.test.ts).
 */
async function twoKeyStores(t: TestContext, dialect: DialectName) {
  const databaseUrl = await freshDatabaseUrl(t, dialect)
  const first = openStore(databaseUrl)
  const second = dialect === 'postgres' ? openStore(databaseUrl) : first
  t.after(async () => {
    await first.destroy()
    if (second !== first) await second.destroy()
  })
  await migrateToLatest(first)
  const options = { clock: systemClock, accessTtlSeconds: 900, cacheSeconds: 0 }
  const stores = [first, second].map((store) => createKeyStore({ db: store.db, ...options }))
  return { db: first.db, stores }
}

for (const dialect of dialects()) {
  describe(`the RS256 signing key (${dialect})`, () => {
    test('none at start; the first calls of providerKeys add exactly one, however many at once', async (t) => {
      const { app, databaseUrl } = await makeApp(t, { dialect })
      const [first] = await keyRows(app.store.db)
      assert.ok(first)
      assert.deepEqual(
        (await keyRows(app.store.db)).map((r) => r.alg),
        ['EdDSA'],
      )
      assert.equal(app.keys.activeKids(), `EdDSA:${first.kid}`)

      const results = await Promise.all(Array.from({ length: 8 }, () => app.keys.providerKeys()))
      const rows = await keyRows(app.store.db)
      assert.deepEqual(
        rows.map((r) => [r.generation, r.alg, r.retired_at]),
        [
          [1, 'EdDSA', null],
          [2, 'RS256', null],
        ],
      )
      for (const keys of results) assert.deepEqual(keys, results[0])
      const [ed, rs] = await providerKeys(app)
      assert.deepEqual(results[0], [ed, rs])
      assert.deepEqual(Object.keys(ed).sort(), ['alg', 'crv', 'd', 'kid', 'kty', 'use', 'x'])
      assert.deepEqual([ed.kid, ed.kty, ed.crv, ed.use], [first.kid, 'OKP', 'Ed25519', 'sig'])
      assert.deepEqual(Object.keys(rs).sort(), [
        'alg',
        'd',
        'dp',
        'dq',
        'e',
        'kid',
        'kty',
        'n',
        'p',
        'q',
        'qi',
        'use',
      ])
      assert.deepEqual([rs.kid, rs.kty, rs.use], [rows[1]?.kid, 'RSA', 'sig'])
      assert.equal(Buffer.from(rs.n as string, 'base64url').length * 8, 2048, 'RSA 2048')
      // The kid is the thumbprint of the public members, as for the EdDSA keys.
      assert.equal(await calculateJwkThumbprint({ kty: 'RSA', n: rs.n, e: rs.e }), rs.kid)
      assert.equal(app.keys.activeKids(), `EdDSA:${ed.kid} RS256:${rs.kid}`)

      // What a caller does with its copy does not reach the store's.
      ;(results[0] as JWK[])[1] = { ...rs, kid: 'changed' }
      ;(ed as { d?: string }).d = 'changed'
      const [edAgain, rsAgain] = await providerKeys(app)
      assert.deepEqual([edAgain.d === 'changed', rsAgain.kid], [false, rs.kid])
      // Another instance on the database finds the key and adds none.
      const other = await makeApp(t, { databaseUrl })
      assert.deepEqual(
        (await providerKeys(other.app)).map((k) => k.kid),
        [first.kid, rs.kid],
      )
      assert.equal((await keyRows(app.store.db)).length, 2)
    })

    for (const round of [1, 2, 3]) {
      test(`two key stores on one database add one RS256 key between them (#${round})`, async (t) => {
        const { db, stores } = await twoKeyStores(t, dialect)
        await Promise.all(stores.map((keys) => keys.init()))
        const results = await Promise.all(
          stores.flatMap((keys) => [keys.providerKeys(), keys.providerKeys()]),
        )
        const rows = await keyRows(db)
        assert.deepEqual(
          rows.map((r) => [r.generation, r.alg]),
          [
            [1, 'EdDSA'],
            [2, 'RS256'],
          ],
        )
        const kids = rows.map((r) => r.kid)
        for (const keys of results)
          assert.deepEqual(
            keys.map((k) => k.kid),
            kids,
          )
        const fingerprint = kids.map((kid, i) => `${rows[i]?.alg}:${kid}`).join(' ')
        for (const keys of stores) assert.equal(keys.activeKids(), fingerprint)
      })
    }

    test('the JWKS publishes both keys, public members only; ID tokens of each verify against it', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const [ed, rs] = await providerKeys(app)
      const set = await jwks(app)
      const published = (alg: string) => set.keys.find((k) => k.alg === alg)
      assert.equal(set.keys.length, 2)
      assert.deepEqual(published('RS256'), {
        kty: 'RSA',
        n: rs.n,
        e: rs.e,
        kid: rs.kid,
        alg: 'RS256',
        use: 'sig',
      })
      assert.deepEqual(published('EdDSA'), {
        kty: 'OKP',
        crv: 'Ed25519',
        x: ed.x,
        kid: ed.kid,
        alg: 'EdDSA',
        use: 'sig',
      })

      const sub = randomUUID()
      const local = createLocalJWKSet(set)
      const rsToken = await idToken(rs, sub)
      const { payload, protectedHeader } = await jwtVerify(rsToken, local, {
        ...ID_TOKEN,
        algorithms: ['RS256'],
      })
      assert.deepEqual([protectedHeader.kid, payload.sub], [rs.kid, sub])
      const edToken = await idToken(ed, sub)
      assert.equal(
        (await jwtVerify(edToken, local, { ...ID_TOKEN, algorithms: ['EdDSA'] })).payload.sub,
        sub,
      )
      // Without the RS256 key published, the same token does not verify: it is what did.
      const edOnly = createLocalJWKSet({ keys: set.keys.filter((k) => k.alg === 'EdDSA') })
      await assert.rejects(jwtVerify(rsToken, edOnly, { ...ID_TOKEN, algorithms: ['RS256'] }), {
        code: 'ERR_JWKS_NO_MATCHING_KEY',
      })
    })

    test('an RS256-signed JWT with a valid kid is refused as an access token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'rsa')
      const [ed, rs] = await providerKeys(app)
      const claims = decodeJwt(session.access_token)
      const signed = async (alg: string, kid: string, jwk: JWK) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
          .sign((await importJWK(jwk, jwk.alg)) as CryptoKey)
      // The very claims under the EdDSA key pass: below, only the key and algorithm differ.
      const genuine = await signed('EdDSA', ed.kid as string, ed)
      await assertTokenAccepted(app, genuine, session.user.id, 'EdDSA')

      const rsToken = await signed('RS256', rs.kid as string, rs)
      await assertTokenRejected(app, rsToken, 'RS256 under the RS256 kid')
      await assert.rejects(app.accessTokens.verify(rsToken), { code: 'invalid_token' })
      // Another service following the published settings refuses it too.
      await assert.rejects(jwtVerify(rsToken, createLocalJWKSet(await jwks(app)), VERIFY), {
        code: 'ERR_JOSE_ALG_NOT_ALLOWED',
      })
      // An EdDSA header naming the RSA key: that key cannot verify EdDSA.
      const mixed = await signed('EdDSA', rs.kid as string, ed)
      await assertTokenRejected(app, mixed, 'EdDSA under the RS256 kid')
    })

    test('without an RS256 key, a rotation adds only an EdDSA key', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const added = await app.keys.rotateAll()
      assert.deepEqual(
        added.map((k) => [k.alg, k.generation]),
        [['EdDSA', 2]],
      )
      assert.deepEqual(
        (await keyRows(app.store.db)).map((r) => r.alg),
        ['EdDSA', 'EdDSA'],
      )
    })

    test('a rotation adds a key of each algorithm, each retiring its own; the old ones stay published for the grace period', async (t) => {
      const { app, clock } = await makeApp(t, { dialect, env: NO_KEY_CACHE })
      clock.freeze()
      const [oldEd, oldRs] = await providerKeys(app)
      const before = app.keys.activeKids()

      const added = await app.keys.rotateAll()
      assert.deepEqual(
        added.map((k) => [k.alg, k.generation]),
        [
          ['EdDSA', 3],
          ['RS256', 4],
        ],
      )
      const [newEd, newRs] = added as [(typeof added)[0], (typeof added)[0]]
      const rows = await keyRows(app.store.db)
      assert.deepEqual(
        rows.map((r) => [
          r.generation,
          r.alg,
          r.kid,
          r.retired_at !== null,
          r.private_jwk !== null,
        ]),
        [
          [1, 'EdDSA', oldEd.kid, true, false],
          [2, 'RS256', oldRs.kid, true, false],
          [3, 'EdDSA', newEd.kid, false, true],
          [4, 'RS256', newRs.kid, false, true],
        ],
      )
      for (const row of rows.slice(0, 2)) {
        assert.equal(new Date(row.retired_at as string).getTime(), clock.now().getTime())
      }
      // The provider's holder sees the change, and gets the new keys.
      assert.notEqual(app.keys.activeKids(), before)
      assert.equal(app.keys.activeKids(), `EdDSA:${newEd.kid} RS256:${newRs.kid}`)
      assert.deepEqual(
        (await providerKeys(app)).map((k) => k.kid),
        [newEd.kid, newRs.kid],
      )
      // One event per key; EdDSA's as before other algorithms, the others name theirs.
      const events = (await trail(app)).filter((e) => e.type === 'signing_key.rotated')
      assert.deepEqual(
        events.map((e) => e.data).sort((a, b) => Number(a.generation) - Number(b.generation)),
        [
          { kid: newEd.kid, generation: 3, retired: [oldEd.kid] },
          { kid: newRs.kid, generation: 4, retired: [oldRs.kid], alg: 'RS256' },
        ],
      )

      // An ID token of the retired RS256 key still verifies against the JWKS...
      const oldToken = await idToken(oldRs, randomUUID())
      await nextMillisecond()
      const all = [oldEd.kid, oldRs.kid, newEd.kid, newRs.kid].sort()
      const kids = (set: JSONWebKeySet) => set.keys.map((k) => k.kid).sort()
      const set = await jwks(app)
      assert.deepEqual(kids(set), all)
      await jwtVerify(oldToken, createLocalJWKSet(set), { ...ID_TOKEN, algorithms: ['RS256'] })
      // ...for as long as a retired EdDSA key stays published (access TTL + 60 s), not longer.
      clock.advance(900 + 59)
      await nextMillisecond()
      assert.deepEqual(kids(await jwks(app)), all)
      clock.advance(2)
      await nextMillisecond()
      assert.deepEqual(kids(await jwks(app)), [newEd.kid, newRs.kid].sort())

      // rotate() rotates both as well, and answers the access tokens' new kid.
      const kid = await app.keys.rotate()
      const latest = (await keyRows(app.store.db)).slice(4)
      assert.deepEqual(
        latest.map((r) => [r.generation, r.alg]),
        [
          [5, 'EdDSA'],
          [6, 'RS256'],
        ],
      )
      assert.equal(kid, latest[0]?.kid)
    })

    test('with SIGNING_KEY_SECRET the RS256 private key is stored sealed, after a rotation too', async (t) => {
      const { app, databaseUrl } = await makeApp(t, {
        dialect,
        env: { SIGNING_KEY_SECRET: SECRET },
      })
      const [, rs] = await providerKeys(app)
      await assertSealed(
        rs.kid as string,
        await storedPrivate(app, rs.kid as string),
        rs.d as string,
      )
      // Another instance with the secret opens it.
      const other = await makeApp(t, { databaseUrl, env: { SIGNING_KEY_SECRET: SECRET } })
      assert.deepEqual((await providerKeys(other.app))[1], rs)

      const [, next] = await app.keys.rotateAll()
      assert.equal(next?.alg, 'RS256')
      const [, rotated] = await providerKeys(app)
      assert.equal(rotated.kid, next?.kid)
      await assertSealed(
        next?.kid as string,
        await storedPrivate(app, next?.kid as string),
        rotated.d as string,
      )
    })

    test('a plain RS256 key is sealed once a secret is set', async (t) => {
      const plain = await makeApp(t, { dialect })
      const [, rs] = await providerKeys(plain.app)
      const stored = await storedPrivate(plain.app, rs.kid as string)
      assert.equal(JSON.parse(stored).d, rs.d, 'in clear without a secret')

      const sealing = await makeApp(t, {
        databaseUrl: plain.databaseUrl,
        env: { SIGNING_KEY_SECRET: SECRET },
      })
      await assertSealed(
        rs.kid as string,
        await storedPrivate(sealing.app, rs.kid as string),
        rs.d as string,
      )
      assert.deepEqual((await providerKeys(sealing.app))[1], rs)
    })

    test('an RS256 key that does not open: providerKeys says why, access tokens go on, a new instance does not start', async (t) => {
      const running = await makeApp(t, { dialect, env: NO_KEY_CACHE })
      // The RS256 key is added by an instance with a secret this one lacks (its EdDSA key is
      // plain, which every instance reads).
      const sealing = createKeyStore({
        db: running.app.store.db,
        clock: running.clock,
        accessTtlSeconds: 900,
        cacheSeconds: 0,
        sealer: createSealer([SECRET]),
      })
      const [, rs] = await sealing.providerKeys()
      await nextMillisecond()
      await assert.rejects(running.app.keys.providerKeys(), {
        name: 'SealingError',
        message: `signing key ${rs?.kid} is encrypted with a secret that SIGNING_KEY_SECRET does not hold (it is not set)`,
      })
      assert.equal((await keyRows(running.app.store.db)).length, 2, 'no second RS256 key')
      const session = await signUp(running.app, 'goes-on')
      await assertTokenAccepted(running.app, session.access_token, session.user.id, 'access')
      assert.equal(running.app.keys.canSign(), true)
      await assert.rejects(
        makeApp(t, { databaseUrl: running.databaseUrl }),
        /SIGNING_KEY_SECRET does not hold \(it is not set\)/,
      )
    })
  })
}

describe('the JWKS route', () => {
  test('serves only public members, whatever the key store hands it', async (t) => {
    const { app } = await makeApp(t)
    const privateKeys = await app.keys.providerKeys()
    assert.ok(privateKeys.every((k) => typeof k.d === 'string'))
    // A key store that would leak its private halves.
    app.keys.jwks = async () => ({ keys: privateKeys as PublicJwk[] })
    const set = await jwks(app)
    assert.deepEqual(
      set.keys.map((k) => Object.keys(k).sort()),
      [
        ['alg', 'crv', 'kid', 'kty', 'use', 'x'],
        ['alg', 'e', 'kid', 'kty', 'n', 'use'],
      ],
    )
  })
})

describe('usersvc keys rotate with an RS256 key', () => {
  test('rotates both algorithms and prints each new kid, naming RS256', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const migrated = await run(['migrate'])
    assert.equal(migrated.code, 0, showRun(migrated))
    const store = openStore(databaseUrl)
    try {
      const keys = createKeyStore({
        db: store.db,
        clock: systemClock,
        accessTtlSeconds: 900,
        cacheSeconds: 0,
      })
      await keys.init()
      await keys.providerKeys()
    } finally {
      await store.destroy()
    }

    const result = await run(['keys', 'rotate'])
    assert.equal(result.code, 0, showRun(result))
    const check = openStore(databaseUrl)
    const rows = await keyRows(check.db).finally(() => check.destroy())
    assert.deepEqual(
      rows.map((r) => [r.generation, r.alg, r.retired_at === null]),
      [
        [1, 'EdDSA', false],
        [2, 'RS256', false],
        [3, 'EdDSA', true],
        [4, 'RS256', true],
      ],
    )
    assert.equal(
      result.stdout,
      `new signing key ${rows[2]?.kid}\nnew RS256 signing key ${rows[3]?.kid}\n`,
    )
  })

  test('its usage names both algorithms', async (t) => {
    const { run } = await cli(t)
    const result = await run(['keys'])
    assert.equal(result.code, 2, showRun(result))
    assert.match(result.stderr, /usage: usersvc keys rotate/)
    assert.match(result.stderr, /Ed25519 \(EdDSA.*RSA \(RS256/s)
  })
})
