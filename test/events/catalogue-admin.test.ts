// The catalogue, part two: second factors, saved recovery codes, what an admin does to another
// account, and what the system does by itself (an admin made outside any request, a key
// rotation). Actors: the holder is "user", an admin acting on another account "admin", the
// system "system"; and no secret of the scenario is in any event.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { EVENT_TYPES } from '../../src/events/catalogue.ts'
import { requestRecovery } from '../support/email.ts'
import {
  assertNoSecretIn,
  assertNoSecretKeys,
  eventsOf,
  fanOutPayloads,
  from,
  holdFanOut,
  theEvent,
  trail,
  trailRows,
} from '../support/events.ts'
import { eventually } from '../support/eventually.ts'
import { authOf, firstStep } from '../support/factors.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { codesOf, recoverWithCode } from '../support/recovery-codes.ts'
import {
  bearer,
  deleteUser,
  login,
  NEW_PASSWORD,
  PASSWORD,
  type Session,
  secondStep,
  session,
  signUp,
  signUpAdmin,
} from '../support/requests.ts'
import { activeSigningKey } from '../support/tokens.ts'
import { activeTotp, removeFactor, totpCode } from '../support/totp.ts'

const BOB = { address: '198.51.100.20', agent: 'EventsTest/1.0 (bob)' }
const ADMIN = { address: '192.0.2.1', agent: 'EventsTest/1.0 (admin)' }

/** The types each scenario of the catalogue tests drives (this file and catalogue-account). */
const ACCOUNT_TYPES = [
  'user.registered',
  'user.email_verified',
  'session.created',
  'login.failed',
  'session.reuse_detected',
  'session.ended',
  'user.password_changed',
  'recovery.requested',
  'user.email_changed',
  'user.deleted',
]
const ADMIN_TYPES = [
  'user.registered',
  'recovery_codes.generated',
  'factor.added',
  'login.failed',
  'session.created',
  'factor.removed',
  'user.password_changed',
  'session.ended',
  'recovery.requested',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'signing_key.rotated',
]

/** The OpenID provider's types, driven and checked by test/oidc/ (clients, code-flow, services). */
const OIDC_TYPES = [
  'oauth.client_added',
  'oauth.client_removed',
  'oauth.consent_given',
  'oauth.consent_withdrawn',
  'oauth.token_issued',
]

test('the catalogue scenarios and the OpenID tests together drive every event type', () => {
  assert.deepEqual(
    [...new Set([...ACCOUNT_TYPES, ...ADMIN_TYPES, ...OIDC_TYPES])].sort(),
    [...EVENT_TYPES].sort(),
  )
})

const post = (app: Parameters<typeof from>[0], token: string, url: string, payload = {}) =>
  app.inject({ method: 'POST', url, headers: bearer(token), payload })

for (const dialect of dialects()) {
  describe(`the event catalogue: factors, admins and the system (${dialect})`, () => {
    test('every event of factors, saved codes, admin actions and key rotation; no secret in any', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      await holdFanOut(app)
      const bob = from(app, BOB.address, BOB.agent)
      const asAdmin = from(app, ADMIN.address, ADMIN.agent)
      const secrets = [PASSWORD, NEW_PASSWORD]
      const keep = (s: Session) => {
        secrets.push(s.access_token, s.refresh_token)
        return s
      }

      // An admin made by the service layer, outside any request: the system made it.
      const admin = keep(await signUpAdmin(asAdmin, 'root'))
      const adminId = admin.user.id
      const bobSession = keep(await signUp(bob, 'bob'))
      const id = bobSession.user.id

      // Saved codes, then an authenticator app.
      const codes = await codesOf(bob, bobSession.access_token)
      secrets.push(...codes)
      const totp = await activeTotp(bob, bobSession.access_token, 'phone')
      secrets.push(totp.secret, totp.code, totp.otpauth_uri)

      // The second step: a wrong code, then the right one (of the next time step).
      clock.advance(30)
      const step = await firstStep(bob, 'bob')
      secrets.push(step.mfa_token)
      const good = totpCode(totp.secret, clock.now().getTime())
      const wrong = good === '000000' ? '111111' : '000000'
      assertProblem(await secondStep(bob, step.mfa_token, { code: wrong }), 400, 'invalid_code')
      const finished = await secondStep(bob, step.mfa_token, { code: good })
      assert.equal(finished.statusCode, 200, finished.body)
      const aal2 = keep(finished.json())
      secrets.push(good)
      assert.equal((await removeFactor(bob, aal2.access_token, totp.id)).statusCode, 204)

      // A saved code sets a new password; a recovery request for an account with no address.
      const recovered = await recoverWithCode(bob, 'bob', codes[0] as string, NEW_PASSWORD, {
        address: BOB.address,
        headers: { 'user-agent': BOB.agent },
      })
      assert.equal(recovered.statusCode, 204, recovered.body)
      assert.equal((await requestRecovery(bob, { login: 'bob' }, BOB.address)).statusCode, 202)
      await eventually(() => eventsOf(app, 'recovery.requested', id), {
        what: 'recovery.requested',
        until: (found) => found.length === 1,
      })

      // The admin disables bob (his live session ends), bob's right password is refused, the
      // admin enables him, signs him out everywhere, and deletes him.
      const live = keep(await session(bob, 'bob', NEW_PASSWORD))
      const disabled = await post(asAdmin, admin.access_token, `/user/${id}/disable`, {
        reason: 'laptop stolen',
      })
      assert.equal(disabled.statusCode, 200, disabled.body)
      assertProblem(await login(bob, 'bob', NEW_PASSWORD), 403, 'account_disabled')
      assert.equal((await post(asAdmin, admin.access_token, `/user/${id}/enable`)).statusCode, 200)
      const again = keep(await session(bob, 'bob', NEW_PASSWORD))
      const out = await asAdmin.inject({
        method: 'DELETE',
        url: `/user/${id}/sessions`,
        headers: bearer(admin.access_token),
      })
      assert.equal(out.statusCode, 204, out.body)
      const last = keep(await session(bob, 'bob', NEW_PASSWORD))
      assert.equal((await deleteUser(asAdmin, admin.access_token, id)).statusCode, 204)

      // The system rotates the signing key.
      const before = await activeSigningKey(app)
      const kid = await app.keys.rotate()

      const events = await trail(app)
      const holder = { type: 'user', id }
      const byAdmin = { type: 'admin', id: adminId }
      const bobs = { address: BOB.address, user_agent: BOB.agent }
      const admins = { address: ADMIN.address, user_agent: ADMIN.agent }
      const where = (e: { address: string | null; user_agent: string | null }) => ({
        address: e.address,
        user_agent: e.user_agent,
      })

      const system = { type: 'system', id: null }
      const rootMade = await theEvent(app, 'user.registered', adminId)
      assert.deepEqual(
        [rootMade.actor, where(rootMade)],
        [system, { address: null, user_agent: null }],
      )
      const bobMade = await theEvent(app, 'user.registered', id)
      assert.deepEqual(
        [bobMade.actor, where(bobMade), bobMade.data],
        [holder, bobs, { login: 'bob', email: null }],
      )
      // An admin signing in acts on its own account: as a user.
      const adminIn = await theEvent(app, 'session.created', adminId)
      assert.deepEqual([adminIn.actor, where(adminIn)], [{ type: 'user', id: adminId }, admins])

      const generated = await theEvent(app, 'recovery_codes.generated', id)
      assert.deepEqual(
        [generated.actor, where(generated), generated.data],
        [holder, bobs, { count: 10 }],
      )
      const added = await theEvent(app, 'factor.added', id)
      const factor = { factor_id: totp.id, factor_type: 'totp', name: 'phone' }
      assert.deepEqual([added.actor, where(added), added.data], [holder, bobs, factor])
      const removed = await theEvent(app, 'factor.removed', id)
      assert.deepEqual([removed.actor, where(removed), removed.data], [holder, bobs, factor])

      const failed = await eventsOf(app, 'login.failed', id)
      assert.deepEqual(
        failed.map((e) => [e.actor, where(e), e.data]),
        [
          [{ type: 'user', id: null }, bobs, { reason: 'invalid_code', method: 'totp' }],
          [{ type: 'user', id: null }, bobs, { reason: 'account_disabled', method: 'password' }],
        ],
      )
      const sessions = await eventsOf(app, 'session.created', id)
      assert.deepEqual(
        sessions.map((e) => [e.data.session_id, e.data.amr, e.data.aal]),
        [
          [authOf(bobSession.access_token).sid, ['pwd'], 'aal1'],
          [authOf(aal2.access_token).sid, ['pwd', 'otp', 'mfa'], 'aal2'],
          [authOf(live.access_token).sid, ['pwd'], 'aal1'],
          [authOf(again.access_token).sid, ['pwd'], 'aal1'],
          [authOf(last.access_token).sid, ['pwd'], 'aal1'],
        ],
      )

      const changed = await theEvent(app, 'user.password_changed', id)
      assert.deepEqual(
        [changed.actor, where(changed), changed.data],
        [holder, bobs, { method: 'recovery_code' }],
      )
      const requested = await theEvent(app, 'recovery.requested', id)
      assert.deepEqual(
        [requested.actor, where(requested), requested.data],
        [holder, bobs, { mailed: false }],
      )

      const off = await theEvent(app, 'user.disabled', id)
      assert.deepEqual(
        [off.actor, where(off), off.data],
        [byAdmin, admins, { reason: 'laptop stolen' }],
      )
      const on = await theEvent(app, 'user.enabled', id)
      assert.deepEqual([on.actor, where(on), on.data], [byAdmin, admins, {}])
      const gone = await theEvent(app, 'user.deleted', id)
      assert.deepEqual([gone.actor, where(gone), gone.data], [byAdmin, admins, {}])

      const ended = await eventsOf(app, 'session.ended', id)
      assert.deepEqual(
        ended.map((e) => [e.data.session_id, e.data.reason, e.actor.type]).sort(),
        [
          [authOf(bobSession.access_token).sid, 'password_changed', 'user'],
          [authOf(aal2.access_token).sid, 'password_changed', 'user'],
          [authOf(live.access_token).sid, 'disabled', 'admin'],
          [authOf(again.access_token).sid, 'admin', 'admin'],
          [authOf(last.access_token).sid, 'deleted', 'admin'],
        ].sort(),
      )

      const rotated = await theEvent(app, 'signing_key.rotated', null)
      assert.deepEqual(
        [rotated.actor, where(rotated), rotated.data],
        [
          system,
          { address: null, user_agent: null },
          { kid, generation: 2, retired: [before.kid] },
        ],
      )
      const privateKey = await app.store.db
        .selectFrom('signing_keys')
        .select('private_jwk')
        .where('kid', '=', kid)
        .executeTakeFirstOrThrow()
      secrets.push(JSON.parse(privateKey.private_jwk as string).d)

      assert.deepEqual(
        [...new Set(events.map((e) => e.type))].sort(),
        [...new Set(ADMIN_TYPES)].sort(),
      )
      const payloads = await fanOutPayloads(app)
      assert.deepEqual(payloads.map((p) => JSON.parse(p).id).sort(), events.map((e) => e.id).sort())
      assertNoSecretKeys(events)
      const stored = (await trailRows(app)).map((row) => JSON.stringify(row))
      assertNoSecretIn(stored, secrets, 'the trail')
      assertNoSecretIn(payloads, secrets, 'the events in the outbox')
    })
  })
}
