import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import { refreshTokenRepository } from '../../src/sessions/repository.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import {
  deleteMe,
  login,
  logout,
  refresh,
  SESSION_FIELDS,
  type Session,
  signUp,
} from '../support/requests.ts'
import { assertTokenAccepted } from '../support/tokens.ts'

type Reply = Awaited<ReturnType<App['inject']>>

function assertInvalidRefresh(res: Reply, what: string) {
  assertProblem(res, 401, 'invalid_refresh_token', what)
}

function assertPair(res: Reply, what: string): Session {
  assert.equal(res.statusCode, 200, `${what}: ${res.body}`)
  assert.equal(res.headers['cache-control'], 'no-store', what)
  return res.json() as Session
}

/** A token of the right shape that this service never gave out. */
function unknownToken(): string {
  return `${randomUUID()}.${randomBytes(32).toString('base64url')}`
}

for (const dialect of dialects()) {
  describe(`POST /session/refresh (${dialect})`, () => {
    test('200: a new pair; the new refresh token differs and works', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'rotator')
      const res = await refresh(app, session.refresh_token)
      const next = assertPair(res, 'first refresh')
      assert.deepEqual(Object.keys(next).sort(), SESSION_FIELDS)
      assert.equal(next.token_type, 'Bearer')
      assert.equal(next.expires_in, 900)
      assert.deepEqual(next.user, session.user)
      assert.notEqual(next.refresh_token, session.refresh_token)
      assert.notEqual(next.access_token, session.access_token)
      await assertTokenAccepted(app, next.access_token, session.user.id, 'the new access token')

      // The rotated token stays in the family and can be rotated in turn.
      const third = assertPair(await refresh(app, next.refresh_token), 'second refresh')
      assert.notEqual(third.refresh_token, next.refresh_token)
      const rows = await app.store.db.selectFrom('refresh_tokens').selectAll().execute()
      assert.equal(rows.length, 3)
      assert.equal(new Set(rows.map((r) => r.family_id)).size, 1)
      assert.equal(rows.filter((r) => r.used_at !== null).length, 2)
    })

    test('a spent token presented again: 401 and its whole family is revoked', async (t) => {
      const { app, logs } = await makeApp(t, { dialect })
      const session = await signUp(app, 'victim')
      const second = assertPair(await refresh(app, session.refresh_token), 'refresh 1')
      const third = assertPair(await refresh(app, second.refresh_token), 'refresh 2')

      // The first token is replayed (by the client or a thief).
      assertInvalidRefresh(await refresh(app, session.refresh_token), 'replayed token')
      // The newest token of the family is dead too.
      assertInvalidRefresh(await refresh(app, third.refresh_token), 'newest of the revoked family')
      // And stays dead.
      assertInvalidRefresh(await refresh(app, third.refresh_token), 'newest, again')
      const rows = await app.store.db.selectFrom('refresh_tokens').selectAll().execute()
      assert.ok(
        rows.every((r) => r.revoked_at !== null),
        JSON.stringify(rows),
      )
      assert.ok(
        logs.some((line) => line.includes('refresh token reuse detected')),
        'reuse is logged',
      )
      // Nothing secret went to the log.
      for (const token of [session.refresh_token, second.refresh_token, third.refresh_token]) {
        const secret = token.split('.')[1] as string
        assert.ok(!logs.some((line) => line.includes(secret)), 'refresh secret in the log')
      }
    })

    test('reuse revokes only that family: another login of the same user keeps working', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const phone = await signUp(app, 'twodevices')
      const laptop = (await login(app, 'twodevices')).json() as Session
      assert.notEqual(phone.refresh_token, laptop.refresh_token)

      assertPair(await refresh(app, phone.refresh_token), 'phone refresh')
      assertInvalidRefresh(await refresh(app, phone.refresh_token), 'phone replay')

      const laptopNext = assertPair(await refresh(app, laptop.refresh_token), 'laptop refresh')
      assertPair(await refresh(app, laptopNext.refresh_token), 'laptop refresh again')
    })

    test('two concurrent refreshes with one token: at most one 200, never a 500', async (t) => {
      const { app } = await makeApp(t, { dialect })
      let won = 0
      for (let round = 0; round < 5; round++) {
        const session = (await signUp(app, `racer${round}`)) as Session
        const results = await Promise.all([
          refresh(app, session.refresh_token),
          refresh(app, session.refresh_token),
        ])
        const winners = results.filter((r) => r.statusCode === 200)
        assert.ok(winners.length <= 1, results.map((r) => r.statusCode).join(','))
        won += winners.length
        for (const res of results) {
          if (res.statusCode !== 200) assertInvalidRefresh(res, `round ${round}`)
        }
        // The loser presented a spent token: that is reuse, so the winner's new token is revoked.
        for (const winner of winners) {
          assertInvalidRefresh(
            await refresh(app, winner.json().refresh_token),
            `round ${round}: winner's token after reuse`,
          )
        }
        // Only one token of the family was ever spent.
        const spent = await app.store.db
          .selectFrom('refresh_tokens')
          .select('id')
          .where('user_id', '=', session.user.id)
          .where('used_at', 'is not', null)
          .execute()
        assert.ok(spent.length <= 1, `round ${round}: ${spent.length} spent`)
      }
      // Refusing both every time would satisfy "at most one": the token does work.
      assert.ok(won >= 1, 'no round had a winner')
    })

    test('malformed, unknown or forged tokens: 401 invalid_refresh_token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'forger')
      const [id, secret] = session.refresh_token.split('.') as [string, string]
      const otherSecret = randomBytes(32).toString('base64url')
      const cases: Array<[string, string]> = [
        ['not-a-token', 'garbage'],
        [id, 'id only'],
        [`${id}.`, 'empty secret'],
        [`${id}.${secret}x`, 'secret too long'],
        [`${id}.${secret.slice(1)}`, 'secret too short'],
        [` ${session.refresh_token}`, 'leading space'],
        [`${id.toUpperCase()}.${secret}`, 'upper-case id'],
        [session.access_token, 'an access token'],
        [unknownToken(), 'well-formed but unknown'],
        [`${id}.${otherSecret}`, 'right id, wrong secret'],
      ]
      for (const [token, what] of cases) assertInvalidRefresh(await refresh(app, token), what)
      // A wrong secret for a real id is not reuse: the real token still works.
      assertPair(await refresh(app, session.refresh_token), 'the real token afterwards')
    })

    test('missing, empty or mistyped refresh_token: 422 validation_failed', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const cases: Array<[unknown, string]> = [
        [{}, 'refresh_token:required'],
        [{ refresh_token: '' }, 'refresh_token:too_short'],
        [{ refresh_token: 42 }, 'refresh_token:invalid_type'],
        [{ refresh_token: null }, 'refresh_token:invalid_type'],
        [{ refresh_token: 'x'.repeat(1025) }, 'refresh_token:too_long'],
        [{ refresh_token: unknownToken(), extra: 1 }, 'extra:unknown_property'],
      ]
      for (const [payload, expected] of cases) {
        const res = await app.inject({
          method: 'POST',
          url: '/session/refresh',
          payload: payload as object,
        })
        assert.equal(res.statusCode, 422, `${JSON.stringify(payload)}: ${res.body}`)
        assert.equal(res.json().code, 'validation_failed')
        const got = res
          .json()
          .errors.map((e: { field: string; code: string }) => `${e.field}:${e.code}`)
        assert.ok(got.includes(expected), `${JSON.stringify(payload)} → ${res.body}`)
      }
    })

    test('an expired refresh token is refused; each rotation starts a new lifetime', async (t) => {
      const ttl = 3600
      const { app, clock } = await makeApp(t, {
        dialect,
        env: { REFRESH_TOKEN_TTL_SECONDS: String(ttl) },
      })
      clock.freeze()
      const early = await signUp(app, 'sleeper')
      const late = (await login(app, 'sleeper')).json() as Session

      clock.advance(ttl - 1)
      const rotated = assertPair(
        await refresh(app, early.refresh_token),
        'one second before expiry',
      )

      clock.advance(2)
      const expired = await refresh(app, late.refresh_token)
      assertInvalidRefresh(expired, 'one second after expiry')
      // The token rotated at ttl-1 lives until 2·ttl-1.
      const next = assertPair(await refresh(app, rotated.refresh_token), 'rotated token')

      // An expired token is not "spent": presenting it did not revoke anything.
      const row = await app.store.db
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('id', '=', late.refresh_token.split('.')[0] as string)
        .executeTakeFirstOrThrow()
      assert.equal(row.used_at, null)
      assertPair(await refresh(app, next.refresh_token), 'family of the rotated token untouched')
    })

    test('the default refresh lifetime is 30 days', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze()
      const a = await signUp(app, 'monthly')
      const b = (await login(app, 'monthly')).json() as Session
      clock.advance(2592000 - 1)
      assertPair(await refresh(app, a.refresh_token), 'just before 30 days')
      clock.advance(1)
      assertInvalidRefresh(await refresh(app, b.refresh_token), 'at 30 days')
    })

    test('a deleted user cannot refresh', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'leaving')
      const deleted = await deleteMe(app, session.access_token)
      assert.equal(deleted.statusCode, 204, deleted.body)
      assertInvalidRefresh(await refresh(app, session.refresh_token), 'after deletion')
    })
  })

  describe(`DELETE /session/ (${dialect})`, () => {
    test('204, idempotent; afterwards the token cannot refresh', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'leaver')
      const first = await logout(app, session.refresh_token)
      assert.equal(first.statusCode, 204, first.body)
      assert.equal(first.body, '')
      const again = await logout(app, session.refresh_token)
      assert.equal(again.statusCode, 204, again.body)
      assert.equal(again.body, '')
      assertInvalidRefresh(await refresh(app, session.refresh_token), 'after logout')
    })

    test('unknown and malformed tokens are 204 too', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'bystander')
      for (const token of [unknownToken(), 'not-a-token']) {
        const res = await logout(app, token)
        assert.equal(res.statusCode, 204, `${token}: ${res.body}`)
        assert.equal(res.body, '')
      }
      // A real id with a wrong secret revokes nothing.
      const id = session.refresh_token.split('.')[0] as string
      const forged = await logout(app, `${id}.${randomBytes(32).toString('base64url')}`)
      assert.equal(forged.statusCode, 204)
      assertPair(await refresh(app, session.refresh_token), 'still logged in')
    })

    test('logout revokes the whole family, also when given a spent token of it', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'family')
      const other = (await login(app, 'family')).json() as Session
      const next = assertPair(await refresh(app, session.refresh_token), 'rotate')
      const newest = assertPair(await refresh(app, next.refresh_token), 'rotate again')

      // Logging out with the newest token ends every token of the family.
      assert.equal((await logout(app, newest.refresh_token)).statusCode, 204)
      assertInvalidRefresh(await refresh(app, newest.refresh_token), 'newest after logout')

      // Logging out with a spent token of the other session ends that family as well.
      const otherNext = assertPair(await refresh(app, other.refresh_token), 'other rotate')
      assert.equal((await logout(app, other.refresh_token)).statusCode, 204)
      assertInvalidRefresh(await refresh(app, otherNext.refresh_token), 'other family after logout')
    })

    test('logout of one session leaves the other sessions alone', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const phone = await signUp(app, 'multi')
      const laptop = (await login(app, 'multi')).json() as Session
      assert.equal((await logout(app, phone.refresh_token)).statusCode, 204)
      assertInvalidRefresh(await refresh(app, phone.refresh_token), 'logged-out session')
      assertPair(await refresh(app, laptop.refresh_token), 'other session')
    })

    test('missing refresh_token is 422 validation_failed', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const res = await app.inject({ method: 'DELETE', url: '/session/', payload: {} })
      assert.equal(res.statusCode, 422, res.body)
      assert.equal(res.json().code, 'validation_failed')
      assert.deepEqual(
        res.json().errors.map((e: { field: string; code: string }) => `${e.field}:${e.code}`),
        ['refresh_token:required'],
      )
    })

    test('pruning (deleteExpired) removes the expired refresh tokens, spent or not, and only those', async (t) => {
      const { app, clock } = await makeApp(t, {
        dialect,
        env: { REFRESH_TOKEN_TTL_SECONDS: '60' },
      })
      const old = await signUp(app, 'pruned')
      const successor = assertPair(await refresh(app, old.refresh_token), 'refresh').refresh_token
      clock.advance(61)
      const fresh = (await login(app, 'pruned')).json() as Session
      const tokens = refreshTokenRepository(app.store.db)
      // Past their expiry: the first token (spent) and its successor (unspent); not the new one.
      assert.equal(await tokens.deleteExpired(clock.now()), 2)
      const left = await app.store.db.selectFrom('refresh_tokens').select('id').execute()
      assert.deepEqual(
        left.map((row) => row.id),
        [fresh.refresh_token.split('.')[0]],
      )
      assert.equal(await tokens.deleteExpired(clock.now()), 0, 'nothing more to prune')
      assertInvalidRefresh(await refresh(app, successor), 'a pruned token')
      assertPair(await refresh(app, fresh.refresh_token), 'the unexpired token')
    })
  })
}
