import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeJwt } from 'jose'
import type { Hasher } from '../../src/passwords/hasher.ts'
import { countingHasher, dialects, makeApp } from '../support/harness.ts'
import { assertProblem, BEARER_CHALLENGE } from '../support/problems.ts'
import {
  bearer,
  changePassword,
  deleteMe,
  deleteUser,
  getUser,
  login,
  me,
  NEW_PASSWORD,
  NO_SUCH_UUID,
  PASSWORD,
  refresh,
  register,
  signUp,
  signUpAdmin,
  USER_FIELDS,
  userById,
} from '../support/requests.ts'
import { liveRefreshTokens, storedHash, userExists } from '../support/store.ts'
import { assertGone, assertTokenAccepted, assertTokenRejected } from '../support/tokens.ts'

for (const dialect of dialects()) {
  describe(`GET /user/me and /user/{id} (${dialect})`, () => {
    test('/user/me: 200 with exactly id, login, role, registered_at', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'alice')
      const res = await me(app, session.access_token)
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), USER_FIELDS)
      assert.deepEqual(body, session.user)
      assert.equal(body.login, 'alice')
      assert.equal(body.role, 'user')
    })

    test('/user/me without or with a bad token: 401 invalid_token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const session = await signUp(app, 'alice')
      const none = await app.inject({ method: 'GET', url: '/user/me' })
      assertProblem(none, 401, 'invalid_token')
      assert.equal(none.headers['www-authenticate'], BEARER_CHALLENGE)
      await assertTokenRejected(app, `${session.access_token}x`, 'a bad token')
    })

    test('/user/{id}: the user itself gets 200', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const own = await getUser(app, alice.access_token, alice.user.id)
      assert.equal(own.statusCode, 200)
      assert.deepEqual(own.json(), alice.user)
      assert.deepEqual(Object.keys(own.json()).sort(), USER_FIELDS)
      // An upper-case spelling of the same uuid is the same user.
      const upper = await getUser(app, alice.access_token, alice.user.id.toUpperCase())
      assert.equal(upper.statusCode, 200)
      assert.deepEqual(upper.json(), alice.user)
    })

    test('another user, no such uuid and a non-uuid id all give one identical 404 (GET and DELETE)', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      for (const method of ['GET', 'DELETE'] as const) {
        const ask = (id: string) => userById(app, method, alice.access_token, id)
        const other = await ask(bob.user.id)
        const missing = await ask(NO_SUCH_UUID)
        const garbage = await ask('abc')
        const problem = assertProblem(other, 404, 'not_found')
        assert.deepEqual(Object.keys(problem).sort(), ['code', 'detail', 'status', 'title', 'type'])
        for (const res of [missing, garbage]) {
          assert.equal(res.statusCode, 404, `${method}: ${res.body}`)
          assert.equal(res.headers['content-type'], other.headers['content-type'])
          assert.equal(res.body, other.body, method)
        }
      }
      // bob survived alice's DELETE attempt
      assert.ok(await userExists(app, bob.user.id))
      assert.equal((await me(app, bob.access_token)).statusCode, 200)
    })

    test('an over-long id is the same 404 as any other id that is not a uuid', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const reference = await getUser(app, alice.access_token, 'abc')
      assertProblem(reference, 404, 'not_found')
      for (const id of ['x'.repeat(201), 'x'.repeat(1000)]) {
        const res = await getUser(app, alice.access_token, id)
        assert.equal(res.statusCode, 404, res.body)
        assert.equal(res.headers['content-type'], reference.headers['content-type'])
        assert.equal(res.body, reference.body)
      }
    })
  })

  describe(`PUT /user/me/password (${dialect})`, () => {
    test('204; the old password, every refresh token and the old access token stop working', async (t) => {
      const h = await makeApp(t, { dialect })
      const { app } = h
      const first = await signUp(app, 'alice')
      const secondRes = await login(app, 'alice')
      assert.equal(secondRes.statusCode, 200)
      const second = secondRes.json()
      // One session has already rotated its refresh token: the successor must die too.
      const rotated = await refresh(app, first.refresh_token)
      assert.equal(rotated.statusCode, 200)
      const hashBefore = await storedHash(app, first.user.id)

      h.clock.advance(2) // the change is strictly after the old tokens were issued
      const res = await changePassword(app, second.access_token, {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      })
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(res.body, '')
      assert.notEqual(await storedHash(app, first.user.id), hashBefore)

      assertProblem(await login(app, 'alice', PASSWORD), 401, 'invalid_credentials')
      for (const token of [rotated.json().refresh_token, second.refresh_token]) {
        assertProblem(await refresh(app, token), 401, 'invalid_refresh_token')
      }
      for (const token of [rotated.json().access_token, second.access_token]) {
        assertProblem(await me(app, token), 401, 'invalid_token')
      }

      const fresh = await login(app, 'alice', NEW_PASSWORD)
      assert.equal(fresh.statusCode, 200)
      const now = await me(app, fresh.json().access_token)
      assert.equal(now.statusCode, 200)
      assert.equal(now.json().id, first.user.id)
      assert.equal((await refresh(app, fresh.json().refresh_token)).statusCode, 200)
    })

    test('a token issued earlier in the same second as the change dies; one issued later lives', async (t) => {
      const h = await makeApp(t, { dialect })
      const { app } = h
      // JWT iat has whole seconds; the change and both tokens fall in one of them.
      h.clock.freeze(new Date('2031-05-06T07:08:09.100Z'))
      const before = await signUp(app, 'alice')
      h.clock.advance(0.4)
      const res = await changePassword(app, before.access_token, {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      })
      assert.equal(res.statusCode, 204, res.body)
      h.clock.advance(0.4)
      const after = (await login(app, 'alice', NEW_PASSWORD)).json()
      assert.equal(decodeJwt(after.access_token).iat, decodeJwt(before.access_token).iat)
      assertProblem(await me(app, before.access_token), 401, 'invalid_token')
      assert.equal((await me(app, after.access_token)).statusCode, 200)
    })

    test('an instance whose clock runs behind still issues tokens that outlive the change', async (t) => {
      const ahead = await makeApp(t, { dialect })
      const behind = await makeApp(t, { databaseUrl: ahead.databaseUrl })
      const at = new Date('2031-05-06T07:08:09.500Z')
      ahead.clock.freeze(at)
      behind.clock.freeze(new Date(at.getTime() - 50))
      const session = await signUp(ahead.app, 'alice')
      ahead.clock.advance(1)
      const res = await changePassword(ahead.app, session.access_token, {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      })
      assert.equal(res.statusCode, 204, res.body)
      // Signed in again at once, at the instance 50 ms behind: its clock says "before the change".
      behind.clock.advance(1)
      const again = (await login(behind.app, 'alice', NEW_PASSWORD)).json()
      assert.equal((await me(ahead.app, again.access_token)).statusCode, 200)
      assert.equal((await me(behind.app, again.access_token)).statusCode, 200)
    })

    test('a login whose check overlaps a password change does not outlive it', async (t) => {
      // The login's verify of the old password is held until the change has committed.
      const { hasher } = await countingHasher()
      let hold: Promise<void> | undefined
      const gated: Hasher = {
        ...hasher,
        admission: hasher.admission,
        async verify(stored, password) {
          const ok = await hasher.verify(stored, password)
          const waiting = hold
          hold = undefined
          if (waiting) await waiting
          return ok
        },
      }
      const { app } = await makeApp(t, { dialect, hasher: gated })
      const alice = await signUp(app, 'alice')
      let release!: () => void
      hold = new Promise((resolve) => {
        release = resolve
      })
      const racing = login(app, 'alice', PASSWORD)
      while (hold) await new Promise((resolve) => setImmediate(resolve)) // it is checking
      const changed = await changePassword(app, alice.access_token, {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      })
      assert.equal(changed.statusCode, 204, changed.body)
      release()
      assertProblem(await racing, 401, 'invalid_credentials')
      assert.deepEqual(
        await liveRefreshTokens(app, alice.user.id),
        [],
        'no session survives the change',
      )
      assert.equal((await login(app, 'alice', NEW_PASSWORD)).statusCode, 200)
    })

    test('a wrong current password is 401 invalid_credentials and changes nothing', async (t) => {
      const h = await makeApp(t, { dialect })
      const { app } = h
      const alice = await signUp(app, 'alice')
      const hashBefore = await storedHash(app, alice.user.id)
      h.clock.advance(2)
      for (const newPassword of [NEW_PASSWORD, 'short']) {
        const res = await changePassword(app, alice.access_token, {
          current_password: 'not the current password at all',
          new_password: newPassword,
        })
        assertProblem(res, 401, 'invalid_credentials')
      }
      assert.equal(await storedHash(app, alice.user.id), hashBefore)
      assert.equal((await me(app, alice.access_token)).statusCode, 200)
      assert.equal((await refresh(app, alice.refresh_token)).statusCode, 200)
      assert.equal((await login(app, 'alice', PASSWORD)).statusCode, 200)
      assertProblem(await login(app, 'alice', NEW_PASSWORD), 401, 'invalid_credentials')
    })

    test('a new password that breaks the policy is 422 password_policy on new_password', async (t) => {
      const h = await makeApp(t, { dialect })
      const { app } = h
      const alice = await signUp(app, 'zorblax')
      const hashBefore = await storedHash(app, alice.user.id)
      h.clock.advance(2)
      const cases: Array<[string, string]> = [
        ['short', 'too_short'],
        ['PasswordPassword', 'common_password'],
        ['zorblax is my favourite password', 'contains_login'],
        ['x'.repeat(257), 'too_long'],
      ]
      for (const [newPassword, code] of cases) {
        const res = await changePassword(app, alice.access_token, {
          current_password: PASSWORD,
          new_password: newPassword,
        })
        const problem = assertProblem(res, 422, 'password_policy')
        assert.ok(problem.errors.length > 0)
        for (const error of problem.errors) assert.equal(error.field, 'new_password', res.body)
        assert.ok(
          problem.errors.some((e: { code: string }) => e.code === code),
          `${code}: ${res.body}`,
        )
      }
      assert.equal(await storedHash(app, alice.user.id), hashBefore)
      assert.equal((await me(app, alice.access_token)).statusCode, 200)
      assert.equal((await refresh(app, alice.refresh_token)).statusCode, 200)
    })

    test('unknown properties and missing fields are 422 validation_failed', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const hashBefore = await storedHash(app, alice.user.id)
      const extra = await changePassword(app, alice.access_token, {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
        login: 'mallory',
      })
      const problem = assertProblem(extra, 422, 'validation_failed')
      assert.deepEqual(problem.errors, [
        { field: 'login', code: 'unknown_property', message: 'is not an allowed property' },
      ])
      const missing = await changePassword(app, alice.access_token, { current_password: PASSWORD })
      const missingProblem = assertProblem(missing, 422, 'validation_failed')
      assert.ok(
        missingProblem.errors.some(
          (e: { field: string; code: string }) =>
            e.field === 'new_password' && e.code === 'required',
        ),
        missing.body,
      )
      assert.equal(await storedHash(app, alice.user.id), hashBefore)
      assert.equal((await login(app, 'alice', PASSWORD)).statusCode, 200)
    })

    test('without an access token: 401 invalid_token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await signUp(app, 'alice')
      const res = await app.inject({
        method: 'PUT',
        url: '/user/me/password',
        payload: { current_password: PASSWORD, new_password: NEW_PASSWORD },
      })
      assertProblem(res, 401, 'invalid_token')
      assert.equal((await login(app, 'alice', PASSWORD)).statusCode, 200)
    })
  })

  describe(`DELETE /user/{id} (${dialect})`, () => {
    test('nobody deletes their own account by id, not even an admin: 403, and it stays', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const root = await signUpAdmin(app, 'root')
      for (const who of [alice, root]) {
        for (const id of [who.user.id, who.user.id.toUpperCase()]) {
          const res = await deleteUser(app, who.access_token, id)
          const problem = assertProblem(res, 403, 'forbidden', who.user.login)
          assert.match(problem.detail, /DELETE \/user\/me/)
        }
        assert.equal(await userExists(app, who.user.id), true, who.user.login)
        await assertTokenAccepted(app, who.access_token, who.user.id, who.user.login)
      }
    })

    test('a user deletes itself with its password: 204, gone, the login is free again', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const other = await login(app, 'alice')
      assert.equal(other.statusCode, 200)
      const res = await deleteMe(app, alice.access_token)
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(res.body, '')
      assert.equal(await userExists(app, alice.user.id), false)
      await assertGone(app, 'alice', alice)
      await assertGone(app, 'alice', other.json())
      const tokens = await app.store.db
        .selectFrom('refresh_tokens')
        .select('id')
        .where('user_id', '=', alice.user.id)
        .execute()
      assert.equal(tokens.length, 0)

      const again = await register(app, 'alice')
      assert.equal(again.statusCode, 201)
      assert.notEqual(again.json().id, alice.user.id)
      // The old token does not come back to life with a new user of the same login.
      assertProblem(await me(app, alice.access_token), 401, 'invalid_token')
      assert.equal((await login(app, 'alice')).statusCode, 200)
    })

    test('DELETE /user/me deletes the caller once its password confirms it', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      const noBody = await app.inject({
        method: 'DELETE',
        url: '/user/me',
        headers: bearer(alice.access_token),
      })
      assertProblem(noBody, 422, 'validation_failed')
      assertProblem(
        await deleteMe(app, alice.access_token, 'not the password at all'),
        401,
        'invalid_credentials',
      )
      assert.ok(await userExists(app, alice.user.id))
      const res = await deleteMe(app, alice.access_token)
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(await userExists(app, alice.user.id), false)
      await assertGone(app, 'alice', alice)
      assert.ok(await userExists(app, bob.user.id))
    })

    test('a non-admin deleting another user gets 404 and the user stays', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      assertProblem(await deleteUser(app, bob.access_token, alice.user.id), 404, 'not_found')
      assert.ok(await userExists(app, alice.user.id))
      assert.equal((await me(app, alice.access_token)).statusCode, 200)
      assert.equal((await refresh(app, alice.refresh_token)).statusCode, 200)
      assert.equal((await login(app, 'alice')).statusCode, 200)
    })
  })
}
