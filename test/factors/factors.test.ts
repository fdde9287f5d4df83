// The caller's factors: GET /user/me/factors, DELETE /user/me/factors/{id}; an admin's
// DELETE /user/{id}/factors.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { mailDir } from '../support/mail.ts'
import { assertProblem } from '../support/problems.ts'
import { codesOf, setAddress } from '../support/recovery-codes.ts'
import { bearer, me, NO_SUCH_UUID, signUp, signUpAdmin } from '../support/requests.ts'
import { aal2Token, activeTotp, enrolTotp, listFactors, removeFactor } from '../support/totp.ts'

const NOW = new Date('2026-03-01T10:00:15.000Z')
const WRONG = 'not the password at all, sorry'

async function factorIds(app: App, userId: string): Promise<string[]> {
  const rows = await app.store.db
    .selectFrom('factors')
    .select('id')
    .where('user_id', '=', userId)
    .orderBy('id')
    .execute()
  return rows.map((row) => row.id)
}

function resetFactors(app: App, token: string, userId: string) {
  return app.inject({ method: 'DELETE', url: `/user/${userId}/factors`, headers: bearer(token) })
}

for (const dialect of dialects()) {
  describe(`the caller’s factors (${dialect})`, () => {
    test('the list: active factors oldest first, and the recovery codes left', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const alice = await signUp(app, 'alice')
      const empty = await listFactors(app, alice.access_token)
      assert.equal(empty.statusCode, 200, empty.body)
      assert.deepEqual(empty.json(), { items: [], recovery_codes_remaining: 0 })

      const first = await activeTotp(app, alice.access_token, 'Phone')
      const token = await aal2Token(app, alice.user.id)
      clock.advance(5)
      const second = await activeTotp(app, token, 'Tablet')
      assert.equal((await enrolTotp(app, token)).statusCode, 201, 'a pending one')
      await codesOf(app, token)

      const list = await listFactors(app, alice.access_token)
      assert.equal(list.statusCode, 200, list.body)
      assert.deepEqual(list.json(), {
        items: [
          {
            id: first.id,
            type: 'totp',
            name: 'Phone',
            created_at: NOW.toISOString(),
            last_used_at: NOW.toISOString(),
          },
          {
            id: second.id,
            type: 'totp',
            name: 'Tablet',
            created_at: clock.now().toISOString(),
            last_used_at: clock.now().toISOString(),
          },
        ],
        recovery_codes_remaining: 10,
      })
      for (const secret of [first.secret, second.secret]) assert.ok(!list.body.includes(secret))
      // Only the caller's own.
      const bob = await signUp(app, 'bob')
      assert.deepEqual((await listFactors(app, bob.access_token)).json().items, [])
      assertProblem(
        await app.inject({ method: 'GET', url: '/user/me/factors' }),
        401,
        'invalid_token',
      )
    })

    test('removing one: 204 at AAL2 with the password; notice mailed; the last one ends mfa_enabled', async (t) => {
      const { app, clock, config } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const mail = mailDir(config.mail.dir)
      const alice = await signUp(app, 'alice')
      await setAddress(app, alice.user.id, 'alice@example.com', true)
      const factor = await activeTotp(app, alice.access_token)
      await mail.next('alice@example.com', /^A second factor was added$/)
      const token = await aal2Token(app, alice.user.id)

      const res = await removeFactor(app, token, factor.id)
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(res.body, '')
      assert.deepEqual(await factorIds(app, alice.user.id), [])
      assert.deepEqual((await listFactors(app, token)).json().items, [])
      assert.equal((await me(app, token)).json().mfa_enabled, false)
      const notice = await mail.next('alice@example.com', /^A second factor was removed$/)
      assert.match(notice.text, /alice/)
      // Gone: again is 404.
      assertProblem(await removeFactor(app, token, factor.id), 404, 'not_found')
    })

    test('an aal1 token is 403 step_up_required while a factor is active, and nothing is removed', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const alice = await signUp(app, 'alice')
      const factor = await activeTotp(app, alice.access_token)
      assertProblem(await removeFactor(app, alice.access_token, factor.id), 403, 'step_up_required')
      assert.deepEqual(await factorIds(app, alice.user.id), [factor.id])
    })

    test('a wrong password is 401 and nothing is removed; another user’s id or none is 404', async (t) => {
      const { app, clock, config } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const mail = mailDir(config.mail.dir)
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      await setAddress(app, bob.user.id, 'bob@example.com', true)
      const alices = await activeTotp(app, alice.access_token)
      const bobs = await activeTotp(app, bob.access_token)
      const token = await aal2Token(app, alice.user.id)

      assertProblem(await removeFactor(app, token, alices.id, WRONG), 401, 'invalid_credentials')
      for (const id of [bobs.id, NO_SUCH_UUID, 'not-a-uuid']) {
        assertProblem(await removeFactor(app, token, id), 404, 'not_found', id)
      }
      assert.deepEqual(await factorIds(app, alice.user.id), [alices.id])
      assert.deepEqual(await factorIds(app, bob.user.id), [bobs.id])
      // Bob hears of his own removal next: mail goes out in order, so had Alice's attempts
      // mailed him, it would be here before it.
      const bobsToken = await aal2Token(app, bob.user.id)
      assert.equal((await removeFactor(app, bobsToken, bobs.id)).statusCode, 204)
      await mail.next('bob@example.com', /^A second factor was removed$/)
      assert.deepEqual((await mail.all()).map((m) => m.subject).sort(), [
        'A second factor was added',
        'A second factor was removed',
      ])
    })

    test('a pending factor may be removed too, without a notice', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const mail = mailDir(config.mail.dir)
      const alice = await signUp(app, 'alice')
      await setAddress(app, alice.user.id, 'alice@example.com', true)
      const pending = (await enrolTotp(app, alice.access_token)).json()
      const res = await removeFactor(app, alice.access_token, pending.id)
      assert.equal(res.statusCode, 204, res.body)
      assert.deepEqual(await factorIds(app, alice.user.id), [])
      // The next notice is the first: mail goes out in order.
      await activeTotp(app, alice.access_token)
      await mail.next('alice@example.com', /^A second factor was added$/)
      assert.equal((await mail.all()).length, 1)
    })

    test('bad bodies are 422 and remove nothing', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const alice = await signUp(app, 'alice')
      const factor = await activeTotp(app, alice.access_token)
      const token = await aal2Token(app, alice.user.id)
      for (const payload of [{}, { password: 1 }, { password: 'x', extra: true }, []]) {
        const res = await app.inject({
          method: 'DELETE',
          url: `/user/me/factors/${factor.id}`,
          headers: bearer(token),
          payload,
        } as never)
        assertProblem(res, 422, 'validation_failed', JSON.stringify(payload))
      }
      assert.deepEqual(await factorIds(app, alice.user.id), [factor.id])
    })
  })

  describe(`an admin’s reset of a user’s factors (${dialect})`, () => {
    test('204: every factor gone, pending ones too; mfa_enabled false; the notice mailed once', async (t) => {
      const { app, clock, config } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const mail = mailDir(config.mail.dir)
      const root = await signUpAdmin(app, 'root')
      const alice = await signUp(app, 'alice')
      await setAddress(app, alice.user.id, 'alice@example.com', true)
      await activeTotp(app, alice.access_token, 'Phone')
      const token = await aal2Token(app, alice.user.id)
      await activeTotp(app, token, 'Tablet')
      await enrolTotp(app, token)
      const bob = await signUp(app, 'bob')
      const bobs = await activeTotp(app, bob.access_token)
      assert.equal((await factorIds(app, alice.user.id)).length, 3)

      const res = await resetFactors(app, root.access_token, alice.user.id.toUpperCase())
      assert.equal(res.statusCode, 204, res.body)
      assert.deepEqual(await factorIds(app, alice.user.id), [])
      assert.deepEqual(await factorIds(app, bob.user.id), [bobs.id], 'others keep theirs')
      assert.equal((await me(app, alice.access_token)).json().mfa_enabled, false)
      const notice = await mail.next('alice@example.com', /^Your second factors were removed$/)
      assert.match(notice.text, /alice/)

      // Nothing left to reset: 204 again, and no second notice (the next mail comes first).
      assert.equal((await resetFactors(app, root.access_token, alice.user.id)).statusCode, 204)
      await activeTotp(app, alice.access_token)
      await mail.next('alice@example.com', /^A second factor was added$/)
      const resets = (await mail.all()).filter((m) => /were removed/.test(m.subject))
      assert.equal(resets.length, 1)
    })

    test('an unknown or malformed user id is 404; a non-admin is 403 forbidden, for any id', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const root = await signUpAdmin(app, 'root')
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      const bobs = await activeTotp(app, bob.access_token)
      for (const id of [NO_SUCH_UUID, 'not-a-uuid', 'me']) {
        assertProblem(await resetFactors(app, root.access_token, id), 404, 'not_found', id)
      }
      for (const id of [bob.user.id, alice.user.id, NO_SUCH_UUID]) {
        assertProblem(await resetFactors(app, alice.access_token, id), 403, 'forbidden', id)
      }
      assert.deepEqual(await factorIds(app, bob.user.id), [bobs.id])
      assertProblem(
        await app.inject({ method: 'DELETE', url: `/user/${bob.user.id}/factors` }),
        401,
        'invalid_token',
      )
    })
  })
}
