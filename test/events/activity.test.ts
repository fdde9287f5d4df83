// GET /user/me/activity: the caller's own events, in the trail's shape, newest first and
// paginated; never another user's; failed sign-ins without the internal reason (which /audit/
// shows admins).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  activity,
  allPages,
  audit,
  EVENT_FIELDS,
  nextLink,
  type TrailEvent,
  trail,
} from '../support/events.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { bearer, login, session, signUp, signUpAdmin } from '../support/requests.ts'

const WRONG = 'not the password of this account at all'
const ids = (events: TrailEvent[]) => events.map((e) => e.id)

for (const dialect of dialects()) {
  describe(`GET /user/me/activity (${dialect})`, () => {
    test("each user sees exactly their own events, newest first; never the other's", async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      await session(app, 'alice')
      await session(app, 'bob')
      assertProblem(await login(app, 'bob', WRONG), 401, 'invalid_credentials')
      assertProblem(await login(app, 'nobody', WRONG), 401, 'invalid_credentials')
      const everything = (await trail(app)).reverse()

      for (const [who, s] of [
        ['alice', alice],
        ['bob', bob],
      ] as const) {
        const res = await activity(app, s.access_token)
        assert.equal(res.statusCode, 200, res.body)
        const { items, next_cursor } = res.json() as { items: TrailEvent[]; next_cursor: null }
        assert.equal(next_cursor, null)
        assert.equal(res.headers.link, undefined)
        const own = everything.filter((e) => e.subject?.user_id === s.user.id)
        assert.deepEqual(ids(items), ids(own), who)
        assert.ok(items.length >= 3, `${who}: ${items.length}`)
        for (const item of items) {
          assert.deepEqual(Object.keys(item).sort(), EVENT_FIELDS)
          assert.deepEqual(item.subject, { user_id: s.user.id }, who)
        }
      }
      // The failed sign-in with an unknown login is nobody's.
      const nobodys = everything.filter((e) => e.type === 'login.failed' && e.subject === null)
      assert.equal(nobodys.length, 1)
    })

    test('a failed sign-in without data.reason for the user; with it for admins in /audit/', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      const alice = await signUp(app, 'alice')
      assertProblem(await login(app, 'alice', WRONG), 401, 'invalid_credentials')

      const own = (await activity(app, alice.access_token)).json().items as TrailEvent[]
      const failed = own.filter((e) => e.type === 'login.failed')
      assert.equal(failed.length, 1)
      assert.deepEqual(failed[0]?.data, { method: 'password' })

      const audited = await audit(app, admin.access_token, {
        user_id: alice.user.id,
        type: 'login.failed',
      })
      const items = audited.json().items as TrailEvent[]
      assert.equal(items.length, 1)
      assert.deepEqual(items[0]?.data, { reason: 'wrong_password', method: 'password' })
      // The same event, the reason aside.
      assert.deepEqual({ ...items[0], data: { method: 'password' } }, failed[0])
    })

    test("an admin's note on disabling is for the trail, not for the user", async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      const alice = await signUp(app, 'alice')
      const act = (url: string, payload = {}) =>
        app.inject({ method: 'POST', url, headers: bearer(admin.access_token), payload })
      const note = 'suspected of fraud, see ticket 4711'
      assert.equal((await act(`/user/${alice.user.id}/disable`, { reason: note })).statusCode, 200)
      assert.equal((await act(`/user/${alice.user.id}/enable`)).statusCode, 200)
      const again = await session(app, 'alice')

      const res = await activity(app, again.access_token)
      assert.equal(res.statusCode, 200, res.body)
      const items = res.json().items as TrailEvent[]
      const disabled = items.find((e) => e.type === 'user.disabled')
      assert.ok(disabled, res.body)
      assert.deepEqual(disabled.actor, { type: 'admin', id: admin.user.id })
      assert.ok(!res.body.includes(note), res.body)
      // Admins still read it.
      const audited = await audit(app, admin.access_token, { type: 'user.disabled' })
      assert.equal(audited.json().items[0].data.reason, note)
    })

    test('pages with limit and cursor, Link to /user/me/activity; a cursor from another user shows only your own', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      for (let i = 0; i < 5; i++) {
        await session(app, 'alice')
        await session(app, 'bob')
      }
      const first = await activity(app, alice.access_token, { limit: 2 })
      assert.equal(first.statusCode, 200, first.body)
      const cursor = first.json().next_cursor as string
      assert.equal(first.headers.link, `</user/me/activity?limit=2&cursor=${cursor}>; rel="next"`)
      const walked = await allPages(app, alice.access_token, '/user/me/activity?limit=2')
      const own = (await trail(app)).reverse().filter((e) => e.subject?.user_id === alice.user.id)
      assert.equal(own.length, 7)
      assert.deepEqual(ids(walked.items), ids(own))
      assert.equal(walked.pages, 4)

      // Bob with alice's cursor: his own events older than that position, nothing of hers.
      const res = await activity(app, bob.access_token, { limit: 100, cursor })
      assert.equal(res.statusCode, 200, res.body)
      const items = res.json().items as TrailEvent[]
      assert.ok(items.length > 0)
      for (const item of items) assert.deepEqual(item.subject, { user_id: bob.user.id })
      assert.equal(nextLink(res.headers.link), undefined)
    })

    test('401 without a token; 422 for a bad limit or cursor; a user_id in the query changes nothing', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      assertProblem(
        await app.inject({ method: 'GET', url: '/user/me/activity' }),
        401,
        'invalid_token',
      )
      const queries: Array<Record<string, string | number>> = [
        { limit: 0 },
        { limit: 101 },
        { cursor: 'nonsense' },
      ]
      for (const query of queries) {
        assertProblem(
          await activity(app, alice.access_token, query),
          422,
          'validation_failed',
          JSON.stringify(query),
        )
      }
      // Another user's id in the query does not widen the view: it is not a filter here.
      const bob = await signUp(app, 'bob')
      const res = await activity(app, alice.access_token, { user_id: bob.user.id })
      assert.equal(res.statusCode, 200, res.body)
      const items = res.json().items as TrailEvent[]
      assert.deepEqual(
        items.map((e) => e.type),
        ['session.created', 'user.registered'],
      )
      for (const item of items) assert.deepEqual(item.subject, { user_id: alice.user.id })
    })
  })
}
