import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type CryptoKey,
  createLocalJWKSet,
  decodeJwt,
  type JSONWebKeySet,
  jwtVerify,
  SignJWT,
} from 'jose'
import type { App } from '../../src/app.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { openStore } from '../../src/db/store.ts'
import { dialects, freshDatabaseUrl, makeApp } from '../support/harness.ts'
import { startServer } from '../support/processes.ts'
import {
  bearer,
  jwks,
  login,
  PASSWORD,
  refresh,
  type Session,
  signUp,
} from '../support/requests.ts'
import {
  activeSigningKey,
  assertTokenAccepted,
  assertTokenRejected,
  kidOf,
  VERIFY,
} from '../support/tokens.ts'

// KEY_CACHE_SECONDS=0: every lookup re-reads the store, so a moved clock is seen at once.
const NO_KEY_CACHE = { KEY_CACHE_SECONDS: '0' }

async function keyRows(app: App) {
  return app.store.db.selectFrom('signing_keys').selectAll().orderBy('generation').execute()
}

/** A token exactly like the service's, valid from `now`, signed with the given key. */
function forge(
  signer: { kid: string; key: CryptoKey },
  session: { access_token: string; user: { id: string } },
  now: Date,
) {
  const iat = Math.floor(now.getTime() / 1000)
  const { sid } = decodeJwt(session.access_token)
  return new SignJWT({ role: 'user', sid, amr: ['pwd'], aal: 'aal1' })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: signer.kid })
    .setIssuer('usersvc')
    .setAudience('usersvc')
    .setSubject(session.user.id)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 900)
    .setJti(crypto.randomUUID())
    .sign(signer.key)
}

/**
 * The key cache's age is measured in wall-clock milliseconds; let one pass so that
 * KEY_CACHE_SECONDS=0 really means "re-read" (no assertion depends on how long this takes).
 */
const nextMillisecond = () => sleep(2)

for (const dialect of dialects()) {
  describe(`signing keys (${dialect})`, () => {
    test('a fresh service has exactly one signing key, with its private half stored', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const rows = await keyRows(app)
      assert.equal(rows.length, 1)
      const [row] = rows
      assert.ok(row)
      assert.equal(row.generation, 1)
      assert.equal(row.retired_at, null)
      assert.ok(row.private_jwk)
      const set = await jwks(app)
      assert.deepEqual(
        set.keys.map((k) => k.kid),
        [row.kid],
      )
    })

    test('restarting on the same database keeps the key: old tokens stay valid', async (t) => {
      const first = await makeApp(t, { dialect })
      const session = await signUp(first.app, 'restart')
      await first.app.close()
      const second = await makeApp(t, { databaseUrl: first.databaseUrl })
      assert.equal((await keyRows(second.app)).length, 1)
      await assertTokenAccepted(second.app, session.access_token, session.user.id, 'after restart')
    })

    test('rotate: two keys published, new tokens use the new kid, old tokens still work', async (t) => {
      const { app } = await makeApp(t, { dialect, env: NO_KEY_CACHE })
      const before = await signUp(app, 'rotating')
      const oldKid = kidOf(before.access_token)
      const oldJwks = await jwks(app)
      assert.equal(oldJwks.keys.length, 1)

      const newKid = await app.keys.rotate()
      assert.notEqual(newKid, oldKid)

      const set = await jwks(app)
      assert.equal(set.keys.length, 2)
      assert.deepEqual(set.keys.map((k) => k.kid).sort(), [newKid, oldKid].sort())
      for (const key of set.keys) assert.ok(!('d' in key))

      const after = (await login(app, 'rotating')).json() as Session
      assert.equal(kidOf(after.access_token), newKid)
      await assertTokenAccepted(app, after.access_token, before.user.id, 'new token')
      await assertTokenAccepted(
        app,
        before.access_token,
        before.user.id,
        'old token after rotation',
      )
      // Another service with the new JWKS verifies both.
      const local = createLocalJWKSet(set)
      await jwtVerify(before.access_token, local, VERIFY)
      await jwtVerify(after.access_token, local, VERIFY)
      // A cache holding only the old JWKS cannot verify the new token: why both must be published.
      await assert.rejects(jwtVerify(after.access_token, createLocalJWKSet(oldJwks), VERIFY), {
        code: 'ERR_JWKS_NO_MATCHING_KEY',
      })

      // The store: the old key is retired and its private half forgotten.
      const rows = await keyRows(app)
      assert.equal(rows.length, 2)
      const [old, current] = rows
      assert.ok(old && current)
      assert.equal(old.kid, oldKid)
      assert.notEqual(old.retired_at, null)
      assert.equal(old.private_jwk, null)
      assert.equal(current.kid, newKid)
      assert.equal(current.generation, old.generation + 1)
      assert.equal(current.retired_at, null)
      assert.ok(current.private_jwk)
    })

    test('a retired key leaves the JWKS after access TTL + 60 s, and its tokens stop verifying', async (t) => {
      const { app, clock } = await makeApp(t, { dialect, env: NO_KEY_CACHE })
      clock.freeze()
      const session = await signUp(app, 'retiring')
      const oldKey = await activeSigningKey(app) // captured while the store still holds it
      assert.equal(kidOf(session.access_token), oldKey.kid)

      const newKid = await app.keys.rotate()
      const newKey = await activeSigningKey(app)
      assert.equal(newKey.kid, newKid)

      // Within the grace period the old key is still published and trusted.
      clock.advance(900 + 59)
      await nextMillisecond()
      assert.deepEqual((await jwks(app)).keys.map((k) => k.kid).sort(), [oldKey.kid, newKid].sort())
      await assertTokenAccepted(
        app,
        await forge(oldKey, session, clock.now()),
        session.user.id,
        'old key within grace',
      )

      // After it, only the new key is left.
      clock.advance(2)
      await nextMillisecond()
      const set = await jwks(app)
      assert.deepEqual(
        set.keys.map((k) => k.kid),
        [newKid],
      )
      // A token that is otherwise current, signed with the withdrawn key, is refused...
      const lateOld = await forge(oldKey, session, clock.now())
      assert.ok((decodeJwt(lateOld).exp as number) * 1000 > clock.now().getTime())
      await assertTokenRejected(app, lateOld, 'withdrawn key')
      // ...while the same token signed with the current key is accepted.
      await assertTokenAccepted(
        app,
        await forge(newKey, session, clock.now()),
        session.user.id,
        'current key',
      )
      // And the original token is refused, of course.
      await assertTokenRejected(app, session.access_token, 'original token')
      // The old row stays in the store (only the JWKS drops it).
      assert.equal((await keyRows(app)).length, 2)
    })

    test('the grace period follows ACCESS_TOKEN_TTL_SECONDS', async (t) => {
      const { app, clock } = await makeApp(t, {
        dialect,
        env: { ...NO_KEY_CACHE, ACCESS_TOKEN_TTL_SECONDS: '60' },
      })
      clock.freeze()
      const oldKid = (await activeSigningKey(app)).kid
      const newKid = await app.keys.rotate()
      clock.advance(60 + 59)
      await nextMillisecond()
      assert.equal((await jwks(app)).keys.length, 2)
      clock.advance(2)
      await nextMillisecond()
      const kids = (await jwks(app)).keys.map((k) => k.kid)
      assert.deepEqual(kids, [newKid])
      assert.ok(!kids.includes(oldKid))
    })

    test('rotating twice: three generations, only the newest signs', async (t) => {
      const { app } = await makeApp(t, { dialect, env: NO_KEY_CACHE })
      const session = await signUp(app, 'twice')
      await app.keys.rotate()
      const third = await app.keys.rotate()
      const rows = await keyRows(app)
      assert.deepEqual(
        rows.map((r) => r.generation),
        [1, 2, 3],
      )
      assert.deepEqual(
        rows.filter((r) => r.private_jwk !== null).map((r) => r.kid),
        [third],
      )
      assert.equal((await jwks(app)).keys.length, 3)
      const fresh = (await login(app, 'twice')).json() as Session
      assert.equal(kidOf(fresh.access_token), third)
      await assertTokenAccepted(app, session.access_token, session.user.id, 'generation-1 token')
    })

    /** Starts two instances on one database at once and checks they share exactly one key. */
    async function startTwoAtOnce(t: TestContext, databaseUrl: string) {
      if (dialect === 'sqlite') return startTwoProcessesAtOnce(t, databaseUrl)
      const [a, b] = await Promise.all([makeApp(t, { databaseUrl }), makeApp(t, { databaseUrl })])
      const rows = await keyRows(a.app)
      assert.equal(rows.length, 1, `${rows.length} signing keys`)
      assert.equal(rows[0]?.generation, 1)
      const kid = rows[0]?.kid
      assert.deepEqual(
        (await jwks(a.app)).keys.map((k) => k.kid),
        [kid],
      )
      assert.deepEqual(
        (await jwks(b.app)).keys.map((k) => k.kid),
        [kid],
      )

      // A token issued by one instance verifies at the other, both ways.
      const viaA = await signUp(a.app, 'shared')
      assert.equal(kidOf(viaA.access_token), kid)
      await assertTokenAccepted(b.app, viaA.access_token, viaA.user.id, "A's token at B")
      const viaB = (await login(b.app, 'shared')).json() as Session
      assert.equal(kidOf(viaB.access_token), kid)
      await assertTokenAccepted(a.app, viaB.access_token, viaA.user.id, "B's token at A")
      // Refresh tokens are shared too.
      const refreshed = await refresh(b.app, viaA.refresh_token)
      assert.equal(refreshed.statusCode, 200, refreshed.body)
    }

    /**
     * On SQLite an instance is a process with one connection: two in one process would share an
     * event loop that node:sqlite's synchronous busy wait blocks, which no deployment does.
     */
    async function startTwoProcessesAtOnce(t: TestContext, databaseUrl: string) {
      const options = { databaseUrl, env: { TLS: 'off' } }
      const [a, b] = await Promise.all([startServer(t, options), startServer(t, options)])
      const store = openStore(databaseUrl)
      t.after(() => store.destroy())
      const rows = await store.db.selectFrom('signing_keys').selectAll().execute()
      assert.equal(rows.length, 1, `${rows.length} signing keys`)
      const kid = rows[0]?.kid
      for (const server of [a, b]) {
        const published = (await (
          await fetch(`${server.base}/.well-known/jwks.json`)
        ).json()) as JSONWebKeySet
        assert.deepEqual(
          published.keys.map((k) => k.kid),
          [kid],
        )
      }
      const post = (body: unknown) => ({
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      const credentials = { login: 'shared', password: PASSWORD }
      assert.equal((await fetch(`${a.base}/user/`, post(credentials))).status, 201)
      const viaB = (await (await fetch(`${b.base}/session/`, post(credentials))).json()) as Session
      assert.equal(kidOf(viaB.access_token), kid)
      const atA = await fetch(`${a.base}/user/me`, { headers: bearer(viaB.access_token) })
      assert.equal(atA.status, 200)
      const refreshed = await fetch(
        `${a.base}/session/refresh`,
        post({ refresh_token: viaB.refresh_token }),
      )
      assert.equal(refreshed.status, 200)
    }

    test('two instances starting at once on one empty database: both start, one key', async (t) => {
      await startTwoAtOnce(t, await freshDatabaseUrl(t, dialect))
    })

    // The key race on its own: the schema exists (migrated beforehand), no key does yet.
    for (const round of [1, 2, 3]) {
      test(`two instances starting at once on a migrated, keyless database: one key (#${round})`, async (t) => {
        const databaseUrl = await freshDatabaseUrl(t, dialect)
        const store = openStore(databaseUrl)
        try {
          await migrateToLatest(store)
          const keys = await store.db.selectFrom('signing_keys').select('kid').execute()
          assert.equal(keys.length, 0)
        } finally {
          await store.destroy()
        }
        await startTwoAtOnce(t, databaseUrl)
      })
    }

    test('a rotation by one instance is picked up by another', async (t) => {
      const a = await makeApp(t, { dialect, env: NO_KEY_CACHE })
      const b = await makeApp(t, { databaseUrl: a.databaseUrl, env: NO_KEY_CACHE })
      const session = await signUp(a.app, 'shared')
      const newKid = await a.app.keys.rotate()
      const viaA = (await login(a.app, 'shared')).json() as Session
      assert.equal(kidOf(viaA.access_token), newKid)
      await nextMillisecond()
      await assertTokenAccepted(b.app, viaA.access_token, session.user.id, "A's new-key token at B")
      await assertTokenAccepted(
        b.app,
        session.access_token,
        session.user.id,
        "A's old-key token at B",
      )
      // B signs with the new key as well, and publishes both.
      const viaB = (await login(b.app, 'shared')).json() as Session
      assert.equal(kidOf(viaB.access_token), newKid)
      assert.equal((await jwks(b.app)).keys.length, 2)
    })
  })
}
