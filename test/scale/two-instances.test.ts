// Two instances of the service, in process, on one PostgreSQL schema: what the scale-out deployment
// relies on. Any instance may serve any request, so whatever one instance did (a registration, a
// refresh-token rotation, a key rotation, a deletion) must hold at the other at once.
import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { eventually } from '../support/eventually.ts'
import { freshDatabaseUrl, type HarnessOptions, makeApp, TestClock } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import {
  deleteMe,
  jwks,
  login,
  me,
  PASSWORD,
  refresh,
  register,
  type Session,
  session,
  signUp,
} from '../support/requests.ts'
import { assertTokenAccepted, assertTokenRejected, kidOf } from '../support/tokens.ts'

/** Two apps on one fresh PostgreSQL schema; B starts once A has migrated it. */
async function twoInstances(t: TestContext, options: Omit<HarnessOptions, 'databaseUrl'> = {}) {
  const databaseUrl = await freshDatabaseUrl(t, 'postgres')
  const a = await makeApp(t, { ...options, databaseUrl })
  const b = await makeApp(t, { ...options, databaseUrl })
  return { a, b }
}

describe('two instances on one PostgreSQL database', () => {
  test('fifty concurrent registrations of one login, 25 at each instance: one 201, 49 × 409, one row', async (t) => {
    const { a, b } = await twoInstances(t)
    const requests = Array.from({ length: 50 }, (_, i) =>
      register((i % 2 === 0 ? a : b).app, 'racer'),
    )
    const results = await Promise.all(requests)
    const created = results.filter((r) => r.statusCode === 201)
    assert.equal(created.length, 1, results.map((r) => r.statusCode).join(','))
    const refused = results.filter((r) => r.statusCode !== 201)
    assert.equal(refused.length, 49)
    for (const res of refused) assertProblem(res, 409, 'login_taken')

    // One row, seen alike from both instances.
    for (const h of [a, b]) {
      const rows = await h.app.store.db.selectFrom('users').select(['id', 'login']).execute()
      assert.deepEqual(rows, [{ id: created[0]?.json().id, login: 'racer' }])
    }
    // The one account works at either instance with the password it was registered with.
    assert.equal((await login(a.app, 'racer')).statusCode, 200)
    assert.equal((await login(b.app, 'racer')).statusCode, 200)
  })

  test('an access token issued by one instance is accepted by the other', async (t) => {
    const { a, b } = await twoInstances(t)
    const fromA = await signUp(a.app, 'alice')
    await assertTokenAccepted(b.app, fromA.access_token, fromA.user.id, "A's token at B")
    const fromB = await session(b.app, 'alice')
    await assertTokenAccepted(a.app, fromB.access_token, fromA.user.id, "B's token at A")
    // Both instances sign with the one shared key.
    assert.equal(kidOf(fromA.access_token), kidOf(fromB.access_token))
  })

  test('a refresh token rotated at A is spent at B: replaying it revokes the family everywhere', async (t) => {
    const { a, b } = await twoInstances(t)
    const first = await signUp(a.app, 'bob')
    const rotated = await refresh(a.app, first.refresh_token)
    assert.equal(rotated.statusCode, 200, rotated.body)
    const next = rotated.json() as Session
    assert.notEqual(next.refresh_token, first.refresh_token)

    // B knows the old token was spent at A: a replay, so 401 and the whole family is revoked…
    assertProblem(await refresh(b.app, first.refresh_token), 401, 'invalid_refresh_token')
    // …including the token A just gave out, at either instance.
    assertProblem(await refresh(a.app, next.refresh_token), 401, 'invalid_refresh_token')
    assertProblem(await refresh(b.app, next.refresh_token), 401, 'invalid_refresh_token')

    const rows = await a.app.store.db
      .selectFrom('refresh_tokens')
      .select(['revoked_at'])
      .where('user_id', '=', first.user.id)
      .execute()
    assert.equal(rows.length, 2)
    for (const row of rows) assert.notEqual(row.revoked_at, null)

    // Another login starts a new family, which works at both.
    const fresh = await session(b.app, 'bob')
    const again = await refresh(a.app, fresh.refresh_token)
    assert.equal(again.statusCode, 200, again.body)
  })

  test('a key rotated at A is published by both and signs new tokens at B (KEY_CACHE_SECONDS=0)', async (t) => {
    const { a, b } = await twoInstances(t, { env: { KEY_CACHE_SECONDS: '0' } })
    const before = await signUp(b.app, 'carol')
    const oldKid = kidOf(before.access_token)
    assert.deepEqual(
      (await jwks(b.app)).keys.map((k) => k.kid),
      [oldKid],
    )

    const newKid = await a.app.keys.rotate()
    assert.notEqual(newKid, oldKid)
    // The key cache's age is measured in wall-clock milliseconds: let one pass.
    await sleep(2)
    for (const [name, h] of [
      ['A', a],
      ['B', b],
    ] as const) {
      const kids = (await jwks(h.app)).keys.map((k) => k.kid)
      assert.deepEqual(kids.sort(), [newKid, oldKid].sort(), `JWKS of ${name}`)
    }

    const fromB = await session(b.app, 'carol')
    assert.equal(kidOf(fromB.access_token), newKid, 'B signs with the key rotated at A')
    await assertTokenAccepted(a.app, fromB.access_token, before.user.id, "B's new-key token at A")
    await assertTokenAccepted(b.app, fromB.access_token, before.user.id, "B's new-key token at B")
    // Tokens signed before the rotation stay valid at both until they expire.
    await assertTokenAccepted(a.app, before.access_token, before.user.id, 'old-key token at A')
    await assertTokenAccepted(b.app, before.access_token, before.user.id, 'old-key token at B')
  })

  test('with the default key cache, a token signed with a key rotated at A is accepted at B', async (t) => {
    // B has cached the key set (KEY_CACHE_SECONDS=30) before the rotation: an unknown kid makes
    // it look again (at most once a second), so A's new tokens do not fail there meanwhile.
    const { a, b } = await twoInstances(t)
    const before = await signUp(a.app, 'dave')
    await assertTokenAccepted(b.app, before.access_token, before.user.id, 'before rotation')
    const newKid = await a.app.keys.rotate()
    const fromA = await session(a.app, 'dave')
    assert.equal(kidOf(fromA.access_token), newKid)

    // Waiting for it, generously; a 401 that never turns into a 200 fails.
    const res = await eventually(() => me(b.app, fromA.access_token), {
      what: 'the new key at B',
      until: (answer) => answer.statusCode === 200,
      timeoutMs: 10_000,
      lastOnTimeout: true,
    })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().id, before.user.id)
  })

  test('a token signed by an instance whose key cache predates a rotation stays verifiable everywhere until it expires', async (t) => {
    // KEY_CACHE_SECONDS may be up to 3600: an instance keeps signing with its cached key that
    // long after another one rotated. Such a token must verify at every instance, including one
    // that (re)loads the key set now, for as long as the token lives.
    const clock = new TestClock()
    const env = { KEY_CACHE_SECONDS: '3600', ACCESS_TOKEN_TTL_SECONDS: '60' }
    const databaseUrl = await freshDatabaseUrl(t, 'postgres')
    const a = await makeApp(t, { databaseUrl, clock, env })
    const b = await makeApp(t, { databaseUrl, clock, env })
    const user = await signUp(a.app, 'erin')
    const oldKid = kidOf(user.access_token)

    await a.app.keys.rotate()
    // Five minutes later (of the service's clock), B's key cache is still well within its hour.
    clock.advance(300)
    const fromB = await session(b.app, 'erin')
    assert.equal(kidOf(fromB.access_token), oldKid, 'B still signs with its cached key')

    // An instance that starts now (or whose cache ran out) must still verify B's unexpired token.
    const c = await makeApp(t, { databaseUrl, clock, env })
    await assertTokenAccepted(c.app, fromB.access_token, user.user.id, "B's token at a fresh C")
    const published = (await jwks(c.app)).keys.map((k) => k.kid)
    assert.ok(published.includes(oldKid), `C's JWKS ${published} lacks ${oldKid}`)
  })

  test('a user deleted at A: its token fails at B, and so do its login and refresh token', async (t) => {
    const { a, b } = await twoInstances(t)
    const user = await signUp(a.app, 'frank')
    const atB = await session(b.app, 'frank')
    await assertTokenAccepted(b.app, user.access_token, user.user.id, 'before deletion')

    const res = await deleteMe(a.app, user.access_token)
    assert.equal(res.statusCode, 204, res.body)

    await assertTokenRejected(b.app, user.access_token, "A's token at B after deletion")
    await assertTokenRejected(b.app, atB.access_token, "B's token at B after deletion")
    assertProblem(await login(b.app, 'frank', PASSWORD), 401, 'invalid_credentials')
    assertProblem(await refresh(b.app, atB.refresh_token), 401, 'invalid_refresh_token')
    // The login is free again, at either instance.
    assert.equal((await register(b.app, 'frank')).statusCode, 201)
  })
})
