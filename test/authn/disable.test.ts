// An admin disables an account: every session ends and its access tokens are refused at once;
// the right password is then 403 account_disabled (a wrong one still the ordinary 401), by every
// way of signing in; enabling lets the user in again. An admin signs a user out everywhere.
// Only admins, never on their own account; everybody else gets the 404 of an unknown user.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import {
  enrolPasskey,
  passkeyLogin,
  passwordlessAssertion,
  softwareAuthenticator,
} from '../support/authenticator.ts'
import { eventsOf, theEvent } from '../support/events.ts'
import { firstStep } from '../support/factors.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import {
  bearer,
  getUser,
  login,
  logout,
  me,
  NO_SUCH_UUID,
  PASSWORD,
  refresh,
  secondStep,
  session,
  signUp,
  signUpAdmin,
  USER_FIELDS,
} from '../support/requests.ts'
import { assertTokenAccepted, assertTokenRejected } from '../support/tokens.ts'
import { activeTotp, totpCode } from '../support/totp.ts'

const WRONG = 'not the password of this account at all'

const act = (app: App, token: string, id: string, what: 'disable' | 'enable', payload?: object) =>
  app.inject({
    method: 'POST',
    url: `/user/${id}/${what}`,
    headers: bearer(token),
    ...(payload ? { payload: payload as Record<string, unknown> } : {}),
  })
const disable = (app: App, token: string, id: string, reason?: string) =>
  act(app, token, id, 'disable', reason === undefined ? undefined : { reason })
const enable = (app: App, token: string, id: string) => act(app, token, id, 'enable')
const signOut = (app: App, token: string, id: string) =>
  app.inject({ method: 'DELETE', url: `/user/${id}/sessions`, headers: bearer(token) })

/** An admin and alice with two live sessions and one she logged out of. */
async function setUp(app: App) {
  const admin = await signUpAdmin(app, 'root')
  const first = await signUp(app, 'alice')
  const second = await session(app, 'alice')
  const gone = await session(app, 'alice')
  assert.equal((await logout(app, gone.refresh_token)).statusCode, 204)
  return { admin, id: first.user.id, sessions: [first, second], gone }
}

for (const dialect of dialects()) {
  describe(`POST /user/{id}/disable and /enable (${dialect})`, () => {
    test('disabling: 200 with disabled_at; every live session ends at once, each with its event', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      const { admin, id, sessions, gone } = await setUp(app)
      for (const s of sessions) await assertTokenAccepted(app, s.access_token, id, 'before')
      clock.freeze()
      const res = await disable(app, admin.access_token, id, 'laptop stolen')
      assert.equal(res.statusCode, 200, res.body)
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), USER_FIELDS)
      assert.equal(body.id, id)
      assert.equal(body.disabled_at, clock.now().toISOString())
      assert.ok(!res.body.includes('laptop stolen'), 'the reason is for the trail only')

      for (const [i, s] of sessions.entries()) {
        await assertTokenRejected(app, s.access_token, `access token ${i}`)
        assertProblem(await refresh(app, s.refresh_token), 401, 'invalid_refresh_token')
      }
      const ended = await eventsOf(app, 'session.ended', id)
      const sid = (s: { access_token: string }) =>
        JSON.parse(Buffer.from(s.access_token.split('.')[1] as string, 'base64url').toString()).sid
      // One event per session live at the disable; the one logged out before had its own.
      assert.deepEqual(
        ended.map((e) => [e.data.session_id, e.data.reason]).sort(),
        [[sid(gone), 'logout'], ...sessions.map((s) => [sid(s), 'disabled'])].sort(),
      )
      const disabled = await theEvent(app, 'user.disabled', id)
      assert.deepEqual(disabled.actor, { type: 'admin', id: admin.user.id })
      assert.deepEqual(disabled.data, { reason: 'laptop stolen' })
      assert.equal(disabled.occurred_at, body.disabled_at)

      // Disabling again changes nothing and records nothing.
      clock.advance(60)
      const again = await disable(app, admin.access_token, id)
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(again.json().disabled_at, body.disabled_at)
      assert.equal((await eventsOf(app, 'user.disabled', id)).length, 1)
      // Without a body at all, or with an empty one, it is the same request.
      const empty = await act(app, admin.access_token, id, 'disable', {})
      assert.equal(empty.statusCode, 200, empty.body)
    })

    test('a disabled account: the right password is 403 account_disabled, a wrong one 401; enabling lets it in', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const { admin, id, sessions } = await setUp(app)
      assert.equal((await disable(app, admin.access_token, id)).statusCode, 200)
      assertProblem(await login(app, 'alice'), 403, 'account_disabled')
      assertProblem(await login(app, 'alice', WRONG), 401, 'invalid_credentials')
      assertProblem(await login(app, 'ALICE'), 403, 'account_disabled')
      const failed = await eventsOf(app, 'login.failed', id)
      assert.deepEqual(
        failed.map((e) => e.data),
        [
          { reason: 'account_disabled', method: 'password' },
          { reason: 'wrong_password', method: 'password' },
          { reason: 'account_disabled', method: 'password' },
        ],
      )
      // No session began.
      assert.equal((await eventsOf(app, 'session.created', id)).length, 3)

      const res = await enable(app, admin.access_token, id)
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.json().disabled_at, null)
      const enabled = await theEvent(app, 'user.enabled', id)
      assert.deepEqual([enabled.actor, enabled.data], [{ type: 'admin', id: admin.user.id }, {}])
      const back = await session(app, 'alice')
      await assertTokenAccepted(app, back.access_token, id, 'after enabling')
      assert.equal((await me(app, back.access_token)).json().disabled_at, null)
      // The sessions the disable ended stay ended.
      for (const s of sessions)
        await assertTokenRejected(app, s.access_token, 'ended by the disable')
      // Enabling again: 200, nothing recorded.
      assert.equal((await enable(app, admin.access_token, id)).statusCode, 200)
      assert.equal((await eventsOf(app, 'user.enabled', id)).length, 1)
    })

    test('admins see disabled_at in GET /user/{id} and GET /user/', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      const { admin, id } = await setUp(app)
      const bob = await signUp(app, 'bob')
      clock.freeze()
      assert.equal((await disable(app, admin.access_token, id)).statusCode, 200)
      const one = await getUser(app, admin.access_token, id)
      assert.equal(one.statusCode, 200, one.body)
      assert.equal(one.json().disabled_at, clock.now().toISOString())
      const list = await app.inject({
        method: 'GET',
        url: '/user/',
        headers: bearer(admin.access_token),
      })
      assert.equal(list.statusCode, 200, list.body)
      const byLogin = Object.fromEntries(
        list
          .json()
          .items.map((u: { login: string; disabled_at: string | null }) => [
            u.login,
            u.disabled_at,
          ]),
      )
      assert.deepEqual(byLogin, { root: null, alice: clock.now().toISOString(), bob: null })
      assert.equal((await me(app, bob.access_token)).json().disabled_at, null)
    })

    test('only admins, and never on their own account; unknown ids are 404; the body is checked', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const { admin, id } = await setUp(app)
      const bob = await signUp(app, 'bob')
      // Not an admin: the 404 of an unknown user, for someone else and for oneself.
      for (const target of [id, bob.user.id, NO_SUCH_UUID]) {
        assertProblem(await disable(app, bob.access_token, target), 404, 'not_found')
        assertProblem(await enable(app, bob.access_token, target), 404, 'not_found')
        assertProblem(await signOut(app, bob.access_token, target), 404, 'not_found')
      }
      // An admin on its own account.
      assertProblem(await disable(app, admin.access_token, admin.user.id), 403, 'forbidden')
      assertProblem(await enable(app, admin.access_token, admin.user.id), 403, 'forbidden')
      await assertTokenAccepted(app, admin.access_token, admin.user.id, 'the admin')
      // Unknown and malformed ids.
      for (const target of [NO_SUCH_UUID, 'not-a-uuid']) {
        assertProblem(await disable(app, admin.access_token, target), 404, 'not_found', target)
        assertProblem(await enable(app, admin.access_token, target), 404, 'not_found', target)
        assertProblem(await signOut(app, admin.access_token, target), 404, 'not_found', target)
      }
      assertProblem(
        await app.inject({ method: 'POST', url: `/user/${id}/disable` }),
        401,
        'invalid_token',
      )
      assertProblem(
        await disable(app, admin.access_token, id, 'x'.repeat(501)),
        422,
        'validation_failed',
      )
      assertProblem(
        await act(app, admin.access_token, id, 'disable', { until: 'tomorrow' }),
        422,
        'validation_failed',
      )
      // None of it disabled anyone or recorded anything.
      assert.equal((await eventsOf(app, 'user.disabled')).length, 0)
      assert.equal((await eventsOf(app, 'user.enabled')).length, 0)
      await assertTokenAccepted(app, bob.access_token, bob.user.id, 'bob')
    })
  })

  describe(`disabled accounts and other ways in; DELETE /user/{id}/sessions (${dialect})`, () => {
    test('a second step begun before the disable is 403 account_disabled with the right code', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      const alice = await signUp(app, 'alice')
      const { secret } = await activeTotp(app, alice.access_token)
      clock.advance(30)
      const step = await firstStep(app, 'alice')
      assert.equal((await disable(app, admin.access_token, alice.user.id)).statusCode, 200)
      const code = totpCode(secret, clock.now().getTime())
      assertProblem(await secondStep(app, step.mfa_token, { code }), 403, 'account_disabled')
      // A wrong code is still just wrong.
      const wrong = code === '000000' ? '111111' : '000000'
      assertProblem(await secondStep(app, step.mfa_token, { code: wrong }), 400, 'invalid_code')
      // After the disable, the password alone is refused before any second step.
      assertProblem(await login(app, 'alice'), 403, 'account_disabled')
      assert.equal((await eventsOf(app, 'session.created', alice.user.id)).length, 1)
      const reasons = (await eventsOf(app, 'login.failed', alice.user.id)).map((e) => e.data.reason)
      assert.deepEqual(reasons, ['account_disabled', 'invalid_code', 'account_disabled'])
    })

    test('a passkey sign-in of a disabled account is 403 account_disabled', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      const alice = await signUp(app, 'alice')
      const authenticator = softwareAuthenticator()
      await enrolPasskey(app, alice.access_token, authenticator)
      assert.equal((await disable(app, admin.access_token, alice.user.id)).statusCode, 200)
      const refused = await passkeyLogin(app, await passwordlessAssertion(app, authenticator))
      assertProblem(refused, 403, 'account_disabled')
      const failed = await theEvent(app, 'login.failed', alice.user.id)
      assert.deepEqual(failed.data, { reason: 'account_disabled', method: 'passkey' })
      assert.equal((await enable(app, admin.access_token, alice.user.id)).statusCode, 200)
      const allowed = await passkeyLogin(app, await passwordlessAssertion(app, authenticator))
      assert.equal(allowed.statusCode, 200, allowed.body)
    })

    test('logins racing a disable: no session outlives it', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const admin = await signUpAdmin(app, 'root')
      const alice = await signUp(app, 'alice')
      const [disabled, ...logins] = await Promise.all([
        disable(app, admin.access_token, alice.user.id),
        ...Array.from({ length: 8 }, () => login(app, 'alice', PASSWORD)),
      ])
      assert.equal(disabled?.statusCode, 200, disabled?.body)
      for (const res of logins) {
        // 429: the account's throttle lets only so many checks run at once.
        assert.ok([200, 401, 403, 429].includes(res.statusCode), res.body)
        if (res.statusCode === 200) {
          await assertTokenRejected(app, res.json().access_token, 'a login racing the disable')
          assertProblem(await refresh(app, res.json().refresh_token), 401, 'invalid_refresh_token')
        }
      }
      const live = await app.store.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', alice.user.id)
        .where('ended_at', 'is', null)
        .execute()
      assert.deepEqual(live, [])
      // Each session that began was live, and ended by the disable with an event.
      const began = (await eventsOf(app, 'session.created', alice.user.id)).length
      const ended = await eventsOf(app, 'session.ended', alice.user.id)
      assert.equal(ended.length, began)
      assert.ok(ended.every((e) => e.data.reason === 'disabled'))
    })

    test('DELETE /user/{id}/sessions: every session ends (reason admin), the account stays usable', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const { admin, id, sessions } = await setUp(app)
      const res = await signOut(app, admin.access_token, id)
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(res.body, '')
      for (const s of sessions) {
        await assertTokenRejected(app, s.access_token, 'signed out by the admin')
        assertProblem(await refresh(app, s.refresh_token), 401, 'invalid_refresh_token')
      }
      const ended = (await eventsOf(app, 'session.ended', id)).filter(
        (e) => e.data.reason === 'admin',
      )
      assert.equal(ended.length, 2)
      for (const e of ended) assert.deepEqual(e.actor, { type: 'admin', id: admin.user.id })
      const back = await session(app, 'alice')
      await assertTokenAccepted(app, back.access_token, id, 'signed in again')
      // Again: the session begun since ends too, with its event.
      const again = await signOut(app, admin.access_token, id)
      assert.equal(again.statusCode, 204)
      assert.equal((await eventsOf(app, 'session.ended', id)).length, 4)
      await assertTokenRejected(app, back.access_token, 'signed out again')
      // The admin's own sessions: 204 too (it is not a disable), and they end.
      const own = await signOut(app, admin.access_token, admin.user.id)
      assert.equal(own.statusCode, 204, own.body)
      await assertTokenRejected(app, admin.access_token, 'the admin signed itself out')
    })
  })
}
