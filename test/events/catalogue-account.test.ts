// The catalogue, part one: an account's own life through the real API (registration, its
// address, sign-ins good and bad, refresh reuse, the ways a session ends, password changes and
// recoveries, a new address, self-deletion). Each event is recorded once, about the right
// account, by the right actor, from the request's address and user agent, with the data its type
// needs; and no event, in the trail or in the outbox, holds a secret the scenario used.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeJwt } from 'jose'
import {
  changeEmail,
  completeRecovery,
  registerWithEmail,
  requestRecovery,
  SUBJECT,
  verifyEmail,
} from '../support/email.ts'
import {
  assertNoSecretIn,
  assertNoSecretKeys,
  EVENT_FIELDS,
  eventsOf,
  fanOutPayloads,
  from,
  holdFanOut,
  theEvent,
  trail,
  trailRows,
} from '../support/events.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { codeIn, mailDir } from '../support/mail.ts'
import { assertProblem } from '../support/problems.ts'
import {
  changePassword,
  deleteMe,
  endSession,
  login,
  logout,
  NEW_PASSWORD,
  PASSWORD,
  refresh,
  type Session,
  session,
} from '../support/requests.ts'
import { storedHash } from '../support/store.ts'

const ADDRESS = '203.0.113.7'
const AGENT = 'EventsTest/1.0 (alice)'
const WRONG = 'not the password of this account at all'
const RECOVERED = 'the password chosen after forgetting the old one'

/** The session id (refresh-token family) of a login's session. */
const sid = (s: Session) => decodeJwt(s.access_token).sid as string

for (const dialect of dialects()) {
  describe(`the event catalogue: an account's own life (${dialect})`, () => {
    test('every event of the account, as the account holder caused it, and no secret in any', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      await holdFanOut(app)
      const box = mailDir(config.mail.dir)
      const alice = from(app, ADDRESS, AGENT)
      const secrets = [PASSWORD, NEW_PASSWORD, WRONG, RECOVERED]
      const keep = (s: Session) => {
        secrets.push(s.access_token, s.refresh_token)
        return s
      }

      // Registration with an address, its code, and the first session.
      const created = await registerWithEmail(alice, 'alice', 'alice@example.com')
      assert.equal(created.statusCode, 201, created.body)
      const id = created.json().id as string
      secrets.push(await storedHash(app, id))
      const first = keep(await session(alice, 'alice'))
      const verification = codeIn(await box.next('alice@example.com', SUBJECT.verification))
      secrets.push(verification)
      assert.equal((await verifyEmail(alice, first.access_token, verification)).statusCode, 200)

      // Failed sign-ins: a wrong password, an unknown login.
      assertProblem(await login(alice, 'alice', WRONG), 401, 'invalid_credentials')
      assertProblem(await login(alice, 'nobody-here', WRONG), 401, 'invalid_credentials')

      // A refresh token used twice: the family is revoked.
      const rotated = await refresh(alice, first.refresh_token)
      assert.equal(rotated.statusCode, 200, rotated.body)
      keep(rotated.json())
      assertProblem(await refresh(alice, first.refresh_token), 401, 'invalid_refresh_token')

      // Logout, ending one session from another, logout everywhere.
      const second = keep(await session(alice, 'alice'))
      assert.equal((await logout(alice, second.refresh_token)).statusCode, 204)
      const third = keep(await session(alice, 'alice'))
      const fourth = keep(await session(alice, 'alice'))
      assert.equal((await endSession(alice, fourth.access_token, sid(third))).statusCode, 204)
      const everywhere = await alice.inject({
        method: 'DELETE',
        url: '/session/all',
        headers: { authorization: `Bearer ${fourth.access_token}` },
      })
      assert.equal(everywhere.statusCode, 204, everywhere.body)

      // A password change ends the session it came from.
      const fifth = keep(await session(alice, 'alice'))
      const changed = await changePassword(alice, fifth.access_token, {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      })
      assert.equal(changed.statusCode, 204, changed.body)

      // Recovery by mail, with a session live to be ended by it.
      const sixth = keep(await session(alice, 'alice', NEW_PASSWORD))
      assert.equal((await requestRecovery(alice, { login: 'alice' }, ADDRESS)).statusCode, 202)
      const recoveryCode = codeIn(await box.next('alice@example.com', SUBJECT.recovery))
      secrets.push(recoveryCode)
      const recovered = await completeRecovery(
        alice,
        { login: 'alice', code: recoveryCode, new_password: RECOVERED },
        ADDRESS,
      )
      assert.equal(recovered.statusCode, 204, recovered.body)
      secrets.push(await storedHash(app, id))

      // A new address, then the account deletes itself.
      const seventh = keep(await session(alice, 'alice', RECOVERED))
      const moved = await changeEmail(alice, seventh.access_token, {
        email: 'alice@example.org',
        password: RECOVERED,
      })
      assert.equal(moved.statusCode, 200, moved.body)
      const eighth = keep(await session(alice, 'alice', RECOVERED))
      assert.equal((await deleteMe(alice, eighth.access_token, RECOVERED)).statusCode, 204)

      const events = await trail(app)
      const self = { type: 'user', id }
      const mine = async (type: string) => theEvent(app, type, id)
      // Every event came from alice's client, and has the catalogue's shape.
      for (const event of events) {
        assert.deepEqual(Object.keys(event).sort(), EVENT_FIELDS, event.type)
        assert.equal(event.address, ADDRESS, event.type)
        assert.equal(event.user_agent, AGENT, event.type)
        assert.match(
          event.id,
          /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        )
      }

      const registered = await mine('user.registered')
      assert.deepEqual(registered.actor, self)
      assert.deepEqual(registered.data, { login: 'alice', email: 'alice@example.com' })
      assert.equal(registered.occurred_at, created.json().registered_at)
      const verified = await mine('user.email_verified')
      assert.deepEqual([verified.actor, verified.data], [self, { email: 'alice@example.com' }])

      const created_ = await eventsOf(app, 'session.created', id)
      assert.deepEqual(
        created_.map((e) => e.data.session_id),
        [first, second, third, fourth, fifth, sixth, seventh, eighth].map(sid),
      )
      for (const event of created_) {
        assert.deepEqual(event.actor, self)
        assert.deepEqual(event.data, {
          session_id: event.data.session_id,
          amr: ['pwd'],
          aal: 'aal1',
        })
      }

      const failed = await eventsOf(app, 'login.failed')
      assert.deepEqual(
        failed.map((e) => [e.subject, e.actor, e.data]),
        [
          [
            { user_id: id },
            { type: 'user', id: null },
            { reason: 'wrong_password', method: 'password' },
          ],
          [null, { type: 'user', id: null }, { reason: 'unknown_login', method: 'password' }],
        ],
      )

      const reuse = await mine('session.reuse_detected')
      assert.deepEqual([reuse.actor, reuse.data], [self, { session_id: sid(first) }])

      // Each ended session once, for its reason (one change may end several, in any order).
      const ended = await eventsOf(app, 'session.ended', id)
      assert.deepEqual(
        ended.map((e) => [e.data.session_id, e.data.reason]).sort(),
        [
          [sid(first), 'revoked'],
          [sid(second), 'logout'],
          [sid(third), 'revoked'],
          [sid(fourth), 'logout_all'],
          [sid(fifth), 'password_changed'],
          [sid(sixth), 'password_changed'],
          [sid(seventh), 'deleted'],
          [sid(eighth), 'deleted'],
        ].sort(),
      )
      for (const event of ended) assert.deepEqual(event.actor, self, JSON.stringify(event))

      const passwords = await eventsOf(app, 'user.password_changed', id)
      assert.deepEqual(
        passwords.map((e) => [e.actor, e.data]),
        [
          [self, { method: 'change' }],
          [self, { method: 'recovery_email' }],
        ],
      )
      const requested = await mine('recovery.requested')
      assert.deepEqual([requested.actor, requested.data], [self, { mailed: true }])
      const emailChanged = await mine('user.email_changed')
      assert.deepEqual(
        [emailChanged.actor, emailChanged.data],
        [self, { email: 'alice@example.org' }],
      )
      const deleted = await mine('user.deleted')
      assert.deepEqual([deleted.actor, deleted.data], [self, {}])

      // Exactly these, nothing twice; the trail outlives the account.
      const count = (type: string) => events.filter((e) => e.type === type).length
      assert.deepEqual(
        Object.fromEntries(
          [...new Set(events.map((e) => e.type))].sort().map((k) => [k, count(k)]),
        ),
        {
          'login.failed': 2,
          'recovery.requested': 1,
          'session.created': 8,
          'session.ended': 8,
          'session.reuse_detected': 1,
          'user.deleted': 1,
          'user.email_changed': 1,
          'user.email_verified': 1,
          'user.password_changed': 2,
          'user.registered': 1,
        },
      )

      // The outbox carries each event once, exactly as the trail has it.
      const payloads = await fanOutPayloads(app)
      assert.deepEqual(
        payloads.map((p) => JSON.parse(p)).sort((a, b) => (a.id < b.id ? -1 : 1)),
        [...events].sort((a, b) => (a.id < b.id ? -1 : 1)),
      )
      assertNoSecretKeys(events)
      const stored = (await trailRows(app)).map((row) => JSON.stringify(row))
      assertNoSecretIn(stored, secrets, 'the trail')
      assertNoSecretIn(payloads, secrets, 'the events in the outbox')
    })

    test("address and user agent are the request's: the agent cut at 256 characters, a forwarded address only from a trusted proxy", async (t) => {
      const { app } = await makeApp(t, { dialect, env: { TRUST_PROXY: '10.0.0.1' } })
      const long = `Agent/${'x'.repeat(400)}`
      const forwarded = (remoteAddress: string, loginName: string) =>
        app.inject({
          method: 'POST',
          url: '/user/',
          payload: { login: loginName, password: PASSWORD },
          remoteAddress,
          headers: { 'user-agent': long, 'x-forwarded-for': '198.51.100.99' },
        })
      assert.equal((await forwarded('10.0.0.1', 'viaproxy')).statusCode, 201)
      assert.equal((await forwarded('192.0.2.50', 'direct')).statusCode, 201)
      const noAgent = await app.inject({
        method: 'POST',
        url: '/user/',
        payload: { login: 'noagent', password: PASSWORD },
        headers: { 'user-agent': undefined },
      })
      assert.equal(noAgent.statusCode, 201, noAgent.body)
      const byLogin = Object.fromEntries(
        (await eventsOf(app, 'user.registered')).map((e) => [e.data.login, e]),
      )
      assert.equal(byLogin.viaproxy?.address, '198.51.100.99')
      assert.equal(byLogin.direct?.address, '192.0.2.50')
      for (const name of ['viaproxy', 'direct']) {
        assert.equal(byLogin[name]?.user_agent, long.slice(0, 256), name)
      }
      assert.equal(byLogin.noagent?.user_agent, null)
      assert.equal(byLogin.noagent?.address, '127.0.0.1')
    })
  })
}
