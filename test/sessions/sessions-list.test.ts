// GET /session/ and DELETE /session/{id}: the caller's sessions, one per login, and ending one
// of them, whose access tokens are refused from then on (not only once they expire). Also the
// other ways a session ends (logout, everywhere, refresh-token reuse) reaching access tokens.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import { authOf } from '../support/factors.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import {
  bearer,
  endSession,
  listSessions,
  logout,
  NO_SUCH_UUID,
  PASSWORD,
  refresh,
  type Session,
  signUp,
} from '../support/requests.ts'
import { assertTokenAccepted, assertTokenRejected } from '../support/tokens.ts'

const ITEM_FIELDS = ['aal', 'address', 'created_at', 'current', 'id', 'last_used_at', 'user_agent']

interface Item {
  id: string
  created_at: string
  last_used_at: string
  user_agent: string | null
  address: string | null
  aal: string
  current: boolean
}

/** A login with that User-Agent, from that address; fails unless 200. */
async function loginAs(app: App, userAgent: string, address = '127.0.0.1'): Promise<Session> {
  const res = await app.inject({
    method: 'POST',
    url: '/session/',
    headers: { 'user-agent': userAgent },
    remoteAddress: address,
    payload: { login: 'alice', password: PASSWORD },
  })
  assert.equal(res.statusCode, 200, res.body)
  return res.json() as Session
}

/** The caller's sessions; fails unless 200. */
async function sessionsOf(app: App, accessToken: string): Promise<Item[]> {
  const res = await listSessions(app, accessToken)
  assert.equal(res.statusCode, 200, res.body)
  assert.equal(res.headers['cache-control'], 'no-store')
  return (res.json() as { items: Item[] }).items
}

const sidOf = (session: Session) => authOf(session.access_token).sid

for (const dialect of dialects()) {
  describe(`GET /session/ (${dialect})`, () => {
    test('one item per login with its time, User-Agent, address and level; exactly one current', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(new Date('2026-05-01T08:00:00.000Z'))
      await signUp(app, 'alice') // a session of its own, without a User-Agent
      clock.advance(60)
      const phone = await loginAs(app, 'Phone/1.0', '203.0.113.7')
      clock.advance(60)
      const laptop = await loginAs(app, 'Laptop/2.0', '2001:db8::1')
      await signUp(app, 'bob')

      const items = await sessionsOf(app, phone.access_token)
      assert.equal(items.length, 3, JSON.stringify(items))
      for (const item of items) assert.deepEqual(Object.keys(item).sort(), ITEM_FIELDS)
      // Newest use first.
      const [first, second, third] = items as [Item, Item, Item]
      assert.deepEqual(first, {
        id: sidOf(laptop),
        created_at: '2026-05-01T08:02:00.000Z',
        last_used_at: '2026-05-01T08:02:00.000Z',
        user_agent: 'Laptop/2.0',
        address: '2001:db8::1',
        aal: 'aal1',
        current: false,
      })
      assert.deepEqual(second, {
        id: sidOf(phone),
        created_at: '2026-05-01T08:01:00.000Z',
        last_used_at: '2026-05-01T08:01:00.000Z',
        user_agent: 'Phone/1.0',
        address: '203.0.113.7',
        aal: 'aal1',
        current: true,
      })
      assert.equal(third.created_at, '2026-05-01T08:00:00.000Z')
      assert.equal(third.current, false)
      // Each caller sees its own as current, and none of bob's.
      const fromLaptop = await sessionsOf(app, laptop.access_token)
      assert.deepEqual(
        fromLaptop.filter((s) => s.current).map((s) => s.id),
        [sidOf(laptop)],
      )
      assert.deepEqual(fromLaptop.map((s) => s.id).sort(), items.map((s) => s.id).sort())
    })

    test('a long User-Agent is kept to its first 256 characters', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await signUp(app, 'alice')
      const agent = `Agent/${'x'.repeat(400)}`
      const mine = await loginAs(app, agent)
      const item = (await sessionsOf(app, mine.access_token)).find((s) => s.current)
      assert.equal(item?.user_agent, agent.slice(0, 256))
    })

    test('a refresh moves last_used_at (and the order), not created_at, and keeps the id', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(new Date('2026-05-01T08:00:00.000Z'))
      const older = await signUp(app, 'alice')
      clock.advance(10)
      const newer = await loginAs(app, 'Newer/1.0')
      clock.advance(50)
      const refreshed = await refresh(app, older.refresh_token)
      assert.equal(refreshed.statusCode, 200, refreshed.body)
      const items = await sessionsOf(app, newer.access_token)
      assert.deepEqual(
        items.map((s) => [s.id, s.created_at, s.last_used_at]),
        [
          [sidOf(older), '2026-05-01T08:00:00.000Z', '2026-05-01T08:01:00.000Z'],
          [sidOf(newer), '2026-05-01T08:00:10.000Z', '2026-05-01T08:00:10.000Z'],
        ],
      )
      assert.equal(authOf(refreshed.json().access_token).sid, sidOf(older))
    })

    test('without a token, or with a bad one: 401 invalid_token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      assertProblem(await app.inject({ method: 'GET', url: '/session/' }), 401, 'invalid_token')
      assertProblem(await listSessions(app, 'not.a.token'), 401, 'invalid_token', 'bad token')
      assertProblem(
        await app.inject({ method: 'DELETE', url: `/session/${sidOf(alice)}` }),
        401,
        'invalid_token',
        'delete without a token',
      )
      await assertTokenAccepted(app, alice.access_token, alice.user.id, 'untouched')
    })
  })

  describe(`DELETE /session/{id} (${dialect})`, () => {
    test('another own session: 204; its access and refresh tokens are refused at once, the caller’s work', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const mine = await signUp(app, 'alice')
      const other = await loginAs(app, 'Other/1.0')
      await assertTokenAccepted(app, other.access_token, mine.user.id, 'before')
      const res = await endSession(app, mine.access_token, sidOf(other))
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(res.body, '')
      await assertTokenRejected(app, other.access_token, 'the ended session’s access token')
      assertProblem(await refresh(app, other.refresh_token), 401, 'invalid_refresh_token')
      await assertTokenAccepted(app, mine.access_token, mine.user.id, 'the caller’s')
      const items = await sessionsOf(app, mine.access_token)
      assert.deepEqual(
        items.map((s) => s.id),
        [sidOf(mine)],
      )
      const next = await refresh(app, mine.refresh_token)
      assert.equal(next.statusCode, 200, next.body)
      // Ended once is all: again, it is no session of the caller's.
      assertProblem(await endSession(app, mine.access_token, sidOf(other)), 404, 'not_found')
    })

    test('another user’s session: 404 not_found, and it keeps working', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      assertProblem(await endSession(app, alice.access_token, sidOf(bob)), 404, 'not_found')
      await assertTokenAccepted(app, bob.access_token, bob.user.id, 'bob’s token')
      const next = await refresh(app, bob.refresh_token)
      assert.equal(next.statusCode, 200, next.body)
      assert.equal((await sessionsOf(app, bob.access_token)).length, 1)
    })

    test('an unknown id or one that is no uuid: 404 not_found', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      for (const id of [NO_SUCH_UUID, 'not-a-uuid', '1', 'x'.repeat(300), '%00']) {
        assertProblem(await endSession(app, alice.access_token, id), 404, 'not_found', id)
      }
      await assertTokenAccepted(app, alice.access_token, alice.user.id, 'untouched')
    })

    test('the caller’s own current session: 204, and its tokens are refused after', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const other = await loginAs(app, 'Other/1.0')
      const res = await endSession(app, alice.access_token, sidOf(alice))
      assert.equal(res.statusCode, 204, res.body)
      await assertTokenRejected(app, alice.access_token, 'the ended current session')
      assertProblem(await refresh(app, alice.refresh_token), 401, 'invalid_refresh_token')
      await assertTokenAccepted(app, other.access_token, alice.user.id, 'the other session')
    })
  })

  describe(`sessions ending reach their access tokens at once (${dialect})`, () => {
    test('log out (DELETE /session/ with the refresh token) ends its access token too', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const other = await loginAs(app, 'Other/1.0')
      const res = await logout(app, alice.refresh_token)
      assert.equal(res.statusCode, 204, res.body)
      await assertTokenRejected(app, alice.access_token, 'the logged-out session')
      await assertTokenAccepted(app, other.access_token, alice.user.id, 'the other session')
      assert.deepEqual(
        (await sessionsOf(app, other.access_token)).map((s) => s.id),
        [sidOf(other)],
      )
    })

    test('DELETE /session/all ends every access token of the caller, and no one else’s', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const other = await loginAs(app, 'Other/1.0')
      const bob = await signUp(app, 'bob')
      const res = await app.inject({
        method: 'DELETE',
        url: '/session/all',
        headers: bearer(other.access_token),
      })
      assert.equal(res.statusCode, 204, res.body)
      for (const [what, session] of [
        ['first', alice],
        ['second', other],
      ] as const) {
        await assertTokenRejected(app, session.access_token, what)
        assertProblem(await refresh(app, session.refresh_token), 401, 'invalid_refresh_token', what)
      }
      await assertTokenAccepted(app, bob.access_token, bob.user.id, 'bob')
    })

    test('refresh-token reuse revokes the family, and its access tokens are refused at once', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const other = await loginAs(app, 'Other/1.0')
      const next = await refresh(app, alice.refresh_token)
      assert.equal(next.statusCode, 200, next.body)
      const rotated = next.json() as Session
      await assertTokenAccepted(app, rotated.access_token, alice.user.id, 'before the reuse')
      // The spent token presented again: a copy is out there.
      assertProblem(await refresh(app, alice.refresh_token), 401, 'invalid_refresh_token')
      await assertTokenRejected(app, rotated.access_token, 'the newest access token of the family')
      await assertTokenRejected(app, alice.access_token, 'the first access token of the family')
      assertProblem(await refresh(app, rotated.refresh_token), 401, 'invalid_refresh_token')
      await assertTokenAccepted(app, other.access_token, alice.user.id, 'another session')
      assert.deepEqual(
        (await sessionsOf(app, other.access_token)).map((s) => s.id),
        [sidOf(other)],
      )
    })
  })
}
