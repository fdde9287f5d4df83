import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../src/app.ts'
import { AppError } from '../../src/errors.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import {
  bearer,
  deleteUser,
  getUser,
  me,
  NO_SUCH_UUID,
  register,
  signUp,
  signUpAdmin,
  USER_FIELDS,
  userById,
} from '../support/requests.ts'
import { userExists } from '../support/store.ts'
import { assertGone } from '../support/tokens.ts'

function list(app: App, token: string, query: string) {
  return app.inject({ method: 'GET', url: `/user/${query}`, headers: bearer(token) })
}

for (const dialect of dialects()) {
  describe(`an admin and other users (${dialect})`, () => {
    test('an admin reads any user with GET /user/{id}', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const admin = await signUpAdmin(app, 'root')
      assert.equal(admin.user.role, 'admin')
      const res = await getUser(app, admin.access_token, alice.user.id)
      assert.equal(res.statusCode, 200)
      assert.deepEqual(res.json(), alice.user)
      assert.deepEqual(Object.keys(res.json()).sort(), USER_FIELDS)
      const self = await me(app, admin.access_token)
      assert.equal(self.statusCode, 200)
      assert.equal(self.json().role, 'admin')
    })

    test('an admin gets the same 404 for no such uuid and for a non-uuid id', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      for (const method of ['GET', 'DELETE'] as const) {
        const ask = (id: string) => userById(app, method, admin.access_token, id)
        const missing = await ask(NO_SUCH_UUID)
        assertProblem(missing, 404, 'not_found')
        const garbage = await ask('abc')
        assert.equal(garbage.statusCode, 404)
        assert.equal(garbage.body, missing.body)
      }
    })

    test('an admin deletes another user: 204, then it is gone', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const admin = await signUpAdmin(app, 'root')
      const res = await deleteUser(app, admin.access_token, alice.user.id)
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(res.body, '')
      assert.equal(await userExists(app, alice.user.id), false)
      await assertGone(app, 'alice', alice)
      assertProblem(await getUser(app, admin.access_token, alice.user.id), 404, 'not_found')
      assert.equal((await register(app, 'alice')).statusCode, 201)
      // The admin is unaffected.
      assert.equal((await me(app, admin.access_token)).statusCode, 200)
    })

    test('deleting twice: the second time is 404', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const admin = await signUpAdmin(app, 'root')
      assert.equal((await deleteUser(app, admin.access_token, alice.user.id)).statusCode, 204)
      assertProblem(await deleteUser(app, admin.access_token, alice.user.id), 404, 'not_found')
    })
  })

  describe(`GET /user/ (${dialect})`, () => {
    test('a non-admin may not list users: 403 forbidden', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      for (const query of ['', '?limit=3']) {
        const res = await list(app, alice.access_token, query)
        assertProblem(res, 403, 'forbidden')
        assert.equal(res.json().items, undefined)
      }
      assertProblem(await app.inject({ method: 'GET', url: '/user/' }), 401, 'invalid_token')
    })

    test('the service itself refuses a non-admin (not only the route): AppError forbidden', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const admin = await signUpAdmin(app, 'root')
      const asUser = { id: alice.user.id, role: 'user' as const }
      await assert.rejects(app.users.list(asUser, undefined, 10), (error) => {
        assert.ok(error instanceof AppError, String(error))
        assert.equal(error.code, 'forbidden')
        assert.equal(error.status, 403)
        return true
      })
      const page = await app.users.list({ id: admin.user.id, role: 'admin' }, undefined, 10)
      assert.deepEqual(page.items.map((u) => u.login).sort(), ['alice', 'root'])
    })

    test('pages walk every user once, in registration order, with cursor and Link', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      const expected = [{ id: admin.user.id, login: 'root' }]
      for (let i = 1; i <= 7; i++) {
        const res = await register(app, `user${i}`)
        assert.equal(res.statusCode, 201)
        expected.push({ id: res.json().id, login: `user${i}` })
      }

      const seen: Array<{ id: string; login: string }> = []
      const sizes: number[] = []
      let url: string | undefined = '/user/?limit=3'
      for (let page = 0; url !== undefined; page++) {
        assert.ok(page < 10, 'paging does not end')
        const res: LightMyRequestResponse = await app.inject({
          method: 'GET',
          url,
          headers: bearer(admin.access_token),
        })
        assert.equal(res.statusCode, 200, res.body)
        const body = res.json()
        assert.deepEqual(Object.keys(body).sort(), ['items', 'next_cursor'])
        sizes.push(body.items.length)
        for (const item of body.items) {
          assert.deepEqual(Object.keys(item).sort(), USER_FIELDS)
          seen.push({ id: item.id, login: item.login })
        }
        if (body.next_cursor === null) {
          assert.equal(res.headers.link, undefined)
          url = undefined
        } else {
          assert.equal(typeof body.next_cursor, 'string')
          assert.equal(res.headers.link, `</user/?limit=3&cursor=${body.next_cursor}>; rel="next"`)
          url = /^<([^>]+)>/.exec(String(res.headers.link))?.[1]
        }
      }
      assert.deepEqual(sizes, [3, 3, 2])
      assert.deepEqual(seen, expected)
    })

    test('when the last page is full, it still says there is no next page', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      for (let i = 1; i <= 7; i++) assert.equal((await register(app, `user${i}`)).statusCode, 201)
      const first = await list(app, admin.access_token, '?limit=4')
      assert.equal(first.json().items.length, 4)
      assert.equal(typeof first.json().next_cursor, 'string')
      const second = await list(
        app,
        admin.access_token,
        `?limit=4&cursor=${first.json().next_cursor}`,
      )
      assert.equal(second.statusCode, 200)
      assert.deepEqual(
        second.json().items.map((u: { login: string }) => u.login),
        ['user4', 'user5', 'user6', 'user7'],
      )
      assert.equal(second.json().next_cursor, null)
      assert.equal(second.headers.link, undefined)
    })

    test('the default limit is 20', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      for (let i = 1; i <= 21; i++) assert.equal((await register(app, `user${i}`)).statusCode, 201)
      const first = await list(app, admin.access_token, '')
      assert.equal(first.statusCode, 200)
      assert.equal(first.json().items.length, 20)
      const cursor = first.json().next_cursor
      assert.equal(typeof cursor, 'string')
      assert.equal(first.headers.link, `</user/?limit=20&cursor=${cursor}>; rel="next"`)
      const second = await list(app, admin.access_token, `?cursor=${cursor}`)
      assert.deepEqual(
        second.json().items.map((u: { login: string }) => u.login),
        ['user20', 'user21'],
      )
      assert.equal(second.json().next_cursor, null)
    })

    test('a bad limit is 422 validation_failed naming limit', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      for (const limit of ['0', '101', 'abc', '-1', '1.5', '']) {
        const res = await list(app, admin.access_token, `?limit=${limit}`)
        const problem = assertProblem(res, 422, 'validation_failed')
        assert.ok(
          problem.errors.some((e: { field: string }) => e.field === 'limit'),
          `limit=${limit}: ${res.body}`,
        )
      }
      // Out of range names the bound it missed.
      for (const [limit, bound] of [
        ['0', 1],
        ['101', 100],
      ] as const) {
        const problem = (await list(app, admin.access_token, `?limit=${limit}`)).json()
        assert.deepEqual(
          problem.errors.map((e: { code: string; limit?: number }) => [e.code, e.limit]),
          [['out_of_range', bound]],
        )
      }
      assert.equal((await list(app, admin.access_token, '?limit=1')).statusCode, 200)
      assert.equal((await list(app, admin.access_token, '?limit=100')).statusCode, 200)
    })

    test('a cursor this service did not give out is 422 validation_failed naming cursor', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      for (const cursor of [
        'garbage',
        '!!!',
        Buffer.from('not-a-uuid').toString('base64url'),
        NO_SUCH_UUID, // a raw id is not a cursor
        'x'.repeat(201),
      ]) {
        const res = await list(app, admin.access_token, `?limit=3&cursor=${cursor}`)
        const problem = assertProblem(res, 422, 'validation_failed')
        assert.ok(
          problem.errors.some((e: { field: string }) => e.field === 'cursor'),
          `cursor=${cursor}: ${res.body}`,
        )
      }
    })

    test('a cursor stays good when the user it points at is deleted', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      const ids: string[] = []
      for (let i = 1; i <= 4; i++) {
        const res = await register(app, `user${i}`)
        assert.equal(res.statusCode, 201)
        ids.push(res.json().id)
      }
      const first = await list(app, admin.access_token, '?limit=2')
      assert.deepEqual(
        first.json().items.map((u: { login: string }) => u.login),
        ['root', 'user1'],
      )
      assert.equal((await deleteUser(app, admin.access_token, ids[0] as string)).statusCode, 204)
      const second = await list(
        app,
        admin.access_token,
        `?limit=2&cursor=${first.json().next_cursor}`,
      )
      assert.equal(second.statusCode, 200, second.body)
      assert.deepEqual(
        second.json().items.map((u: { login: string }) => u.login),
        ['user2', 'user3'],
      )
      const third = await list(
        app,
        admin.access_token,
        `?limit=2&cursor=${second.json().next_cursor}`,
      )
      assert.deepEqual(
        third.json().items.map((u: { login: string }) => u.login),
        ['user4'],
      )
      assert.equal(third.json().next_cursor, null)
    })
  })
}
