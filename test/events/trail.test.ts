// GET /audit/ (admins): the whole trail, newest first, keyset-paginated (next_cursor and an RFC
// 8288 Link), filtered by user, type and time; its query validated; closed to everybody else.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import {
  allPages,
  audit,
  EVENT_FIELDS,
  nextLink,
  type TrailEvent,
  trail,
} from '../support/events.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { NO_SUCH_UUID, signUp, signUpAdmin } from '../support/requests.ts'

const ids = (events: TrailEvent[]) => events.map((e) => e.id)
/** The trail newest first, as /audit/ should list it. */
const newestFirst = async (app: Parameters<typeof trail>[0]) => (await trail(app)).reverse()

for (const dialect of dialects()) {
  describe(`GET /audit/ (${dialect})`, () => {
    test('pages newest first: limit, next_cursor, Link rel="next"; every event once', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      // Many events in one millisecond (a frozen clock): the id decides among them.
      clock.freeze()
      for (let i = 0; i < 9; i++)
        await app.users.register(`tied${i}`, 'correct horse battery staple')
      clock.advance(1)
      for (let i = 0; i < 4; i++)
        await app.users.register(`later${i}`, 'correct horse battery staple')
      const all = await newestFirst(app)
      assert.equal(all.length, 15) // root registered and signed in; 13 more registered

      const first = await audit(app, admin.access_token, { limit: 4 })
      assert.equal(first.statusCode, 200, first.body)
      const page = first.json()
      assert.deepEqual(Object.keys(page).sort(), ['items', 'next_cursor'])
      assert.deepEqual(ids(page.items), ids(all.slice(0, 4)))
      assert.deepEqual(page.items[0], all[0])
      for (const item of page.items) assert.deepEqual(Object.keys(item).sort(), EVENT_FIELDS)
      assert.equal(typeof page.next_cursor, 'string')
      assert.equal(first.headers.link, `</audit/?limit=4&cursor=${page.next_cursor}>; rel="next"`)
      const walked = await allPages(app, admin.access_token, '/audit/?limit=4')
      assert.equal(walked.pages, 4)
      assert.deepEqual(ids(walked.items), ids(all))

      // The default page is 20: everything here, and no next page.
      const whole = await audit(app, admin.access_token)
      assert.deepEqual(ids(whole.json().items), ids(all))
      assert.equal(whole.json().next_cursor, null)
      assert.equal(whole.headers.link, undefined)
      // Exactly a page's worth: no empty page after it.
      const exact = await audit(app, admin.access_token, { limit: 15 })
      assert.equal(exact.json().next_cursor, null)
    })

    test('new events arriving between pages: no duplicate, no gap, the new ones not in later pages', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      for (let i = 0; i < 10; i++)
        await app.users.register(`early${i}`, 'correct horse battery staple')
      const before = await newestFirst(app)
      const seen: TrailEvent[] = []
      let url: string | undefined = '/audit/?limit=3'
      let round = 0
      while (url) {
        const res: Awaited<ReturnType<App['inject']>> = await app.inject({
          method: 'GET',
          url,
          headers: { authorization: `Bearer ${admin.access_token}` },
        })
        assert.equal(res.statusCode, 200, res.body)
        seen.push(...res.json().items)
        url = nextLink(res.headers.link)
        // Between pages, more happens.
        await app.users.register(`meanwhile${round++}`, 'correct horse battery staple')
      }
      assert.deepEqual(ids(seen), ids(before))
      assert.equal(new Set(ids(seen)).size, seen.length)
      assert.equal((await trail(app)).length, before.length + round)
    })

    test('filters: user_id, type, after and before (strictly), together; the Link keeps them', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(new Date('2026-06-01T10:00:00.000Z'))
      const admin = await signUpAdmin(app, 'root') // registered and signed in at 10:00
      const alice = await signUp(app, 'alice') // registered and signed in at 10:00
      clock.advance(60)
      const bob = await signUp(app, 'bob') // 10:01
      clock.advance(60)
      await signUp(app, 'carol') // 10:02
      const aliceId = alice.user.id
      const get = async (query: Record<string, string | number>) => {
        const res = await audit(app, admin.access_token, query)
        assert.equal(res.statusCode, 200, `${JSON.stringify(query)}: ${res.body}`)
        return res.json().items as TrailEvent[]
      }
      const all = await newestFirst(app)
      const where = (keep: (e: TrailEvent) => boolean) => ids(all.filter(keep))

      const ofAlice = await get({ user_id: aliceId })
      assert.deepEqual(
        ids(ofAlice),
        where((e) => e.subject?.user_id === aliceId),
      )
      assert.equal(ofAlice.length, 2)
      // A user id in capitals names the same user.
      assert.deepEqual(ids(await get({ user_id: aliceId.toUpperCase() })), ids(ofAlice))
      assert.deepEqual(await get({ user_id: NO_SUCH_UUID }), [])

      const registered = await get({ type: 'user.registered' })
      assert.deepEqual(
        ids(registered),
        where((e) => e.type === 'user.registered'),
      )
      assert.equal(registered.length, 4)

      assert.deepEqual(
        ids(await get({ after: '2026-06-01T10:00:00.000Z' })),
        where((e) => e.occurred_at > '2026-06-01T10:00:00.000Z'),
      )
      assert.equal((await get({ after: '2026-06-01T10:00:00.000Z' })).length, 4)
      assert.deepEqual(
        ids(await get({ before: '2026-06-01T10:02:00.000Z' })),
        where((e) => e.occurred_at < '2026-06-01T10:02:00.000Z'),
      )
      // Strictly between, and an offset other than Z means the same instant.
      const between = await get({
        after: '2026-06-01T12:00:00.000+02:00',
        before: '2026-06-01T10:02:00Z',
      })
      assert.deepEqual(
        between.map((e) => [e.type, e.subject?.user_id]),
        [
          ['session.created', bob.user.id],
          ['user.registered', bob.user.id],
        ],
      )
      assert.deepEqual(
        ids(
          await get({ type: 'session.created', user_id: aliceId, before: '2026-06-01T10:01:00Z' }),
        ),
        where((e) => e.type === 'session.created' && e.subject?.user_id === aliceId),
      )

      // The next page's link carries the filters: every page of it is registrations only.
      const filtered = await audit(app, admin.access_token, { type: 'user.registered', limit: 1 })
      const link = nextLink(filtered.headers.link)
      assert.ok(link?.startsWith('/audit/?type=user.registered&limit=1&cursor='), link)
      const walked = await allPages(app, admin.access_token, '/audit/?type=user.registered&limit=1')
      assert.deepEqual(ids(walked.items), ids(registered))
    })

    test('422 validation_failed for a bad cursor, limit, type, date or user id', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      const page = (await audit(app, admin.access_token, { limit: 1 })).json()
      const forged = (text: string) => Buffer.from(text).toString('base64url')
      const cases: Array<[Record<string, string | number>, string]> = [
        [{ cursor: 'not a cursor at all' }, 'cursor'],
        [{ cursor: forged('yesterday|0193a9e4-5b7a-7c1e-9f1a-3b2c4d5e6f70') }, 'cursor'],
        [{ cursor: forged('2026-06-01T10:00:00.000Z|not-a-uuid') }, 'cursor'],
        [{ cursor: `${page.next_cursor}x` }, 'cursor'],
        [{ cursor: 'x'.repeat(201) }, 'cursor'],
        [{ limit: 0 }, 'limit'],
        [{ limit: 101 }, 'limit'],
        [{ limit: 'ten' }, 'limit'],
        [{ limit: 1.5 }, 'limit'],
        [{ type: 'user.exploded' }, 'type'],
        [{ after: 'yesterday' }, 'after'],
        [{ before: '2026-13-01T00:00:00Z' }, 'before'],
        [{ after: '2026-06-01' }, 'after'],
        [{ user_id: 'alice' }, 'user_id'],
      ]
      for (const [query, field] of cases) {
        const problem = assertProblem(
          await audit(app, admin.access_token, query),
          422,
          'validation_failed',
          JSON.stringify(query),
        )
        assert.deepEqual(
          problem?.errors.map((e: { field: string }) => e.field),
          [field],
          JSON.stringify(query),
        )
      }
      // A cursor this service gave out works.
      const next = await audit(app, admin.access_token, { limit: 1, cursor: page.next_cursor })
      assert.equal(next.statusCode, 200, next.body)
    })

    test('401 without a valid token, 403 forbidden for a user who is not an admin', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const user = await signUp(app, 'alice')
      assertProblem(await app.inject({ method: 'GET', url: '/audit/' }), 401, 'invalid_token')
      assertProblem(await audit(app, 'not.a.token'), 401, 'invalid_token')
      assertProblem(await audit(app, user.access_token), 403, 'forbidden')
      assertProblem(
        await audit(app, user.access_token, { user_id: user.user.id }),
        403,
        'forbidden',
      )
    })
  })
}
