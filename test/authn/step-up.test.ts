// Step-up: on an account with an active factor, changing what proves the account (password,
// email address, recovery codes) and deleting it need an AAL2 session, or 403 step_up_required
// (NIST SP 800-63B rev 4 §2.2). The password is still asked for where it was.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../src/app.ts'
import { changeEmail } from '../support/email.ts'
import { accountWithFactor, authOf, firstStep, tokenAt } from '../support/factors.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { codeRows, newCodes } from '../support/recovery-codes.ts'
import {
  changePassword,
  deleteMe,
  login,
  me,
  NEW_PASSWORD,
  PASSWORD,
  type Session,
  secondStep,
  session,
  signUp,
} from '../support/requests.ts'
import { userExists } from '../support/store.ts'

const WRONG = 'not the password of this account, sorry'

type Send = (app: App, token: string, password?: string) => Promise<LightMyRequestResponse>

/** The four routes that need the account's level, each with a body that would succeed. */
const password: Send = (app, token, current = PASSWORD) =>
  changePassword(app, token, { current_password: current, new_password: NEW_PASSWORD })
const email: Send = (app, token, current = PASSWORD) =>
  changeEmail(app, token, { email: 'alice@example.com', password: current })
const remove: Send = (app, token, current = PASSWORD) => deleteMe(app, token, current)
const codes: Send = (app, token, current = PASSWORD) => newCodes(app, token, current)

const GUARDED: Array<[string, Send]> = [
  ['PUT /user/me/password', password],
  ['PUT /user/me/email', email],
  ['DELETE /user/me', remove],
  ['POST /user/me/recovery-codes', codes],
]

for (const dialect of dialects()) {
  describe(`step-up on an account with a factor (${dialect})`, () => {
    test('an aal1 session: each of the four is 403 step_up_required, and nothing changes', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      // The session of a login from before the factor existed.
      const token = alice.session.access_token
      assert.equal(authOf(token).aal, 'aal1')
      const codesBefore = await codeRows(app, alice.userId)
      for (const [what, send] of GUARDED) {
        assertProblem(await send(app, token), 403, 'step_up_required', what)
        // Refused before the password is looked at: a wrong one gets the same answer.
        assertProblem(await send(app, token, WRONG), 403, 'step_up_required', `${what}, wrong`)
      }
      // The token itself still works where no step-up is asked.
      const user = await me(app, token)
      assert.equal(user.statusCode, 200, user.body)
      assert.equal(user.json().email, null, 'the address unchanged')
      assert.equal(user.json().mfa_enabled, true)
      assert.ok(await userExists(app, alice.userId), 'the account exists')
      assert.deepEqual(await codeRows(app, alice.userId), codesBefore, 'the codes unchanged')
      assert.equal((await firstStep(app, 'alice', PASSWORD)).mfa_required, true, 'the password')
      assertProblem(await login(app, 'alice', NEW_PASSWORD), 401, 'invalid_credentials')
    })

    test('an aal2 session: each succeeds, and a wrong password is still 401 invalid_credentials', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      let token = await tokenAt(app, alice.userId, 'aal2')
      const codesBefore = await codeRows(app, alice.userId)
      for (const [what, send] of GUARDED) {
        assertProblem(await send(app, token, WRONG), 401, 'invalid_credentials', what)
      }
      assert.deepEqual(await codeRows(app, alice.userId), codesBefore, 'the codes unchanged')
      assert.ok(await userExists(app, alice.userId))
      assert.equal((await me(app, token)).json().email, null)
      assert.equal((await firstStep(app, 'alice', PASSWORD)).mfa_required, true)

      const made = await codes(app, token)
      assert.equal(made.statusCode, 201, made.body)
      assert.notDeepEqual(await codeRows(app, alice.userId), codesBefore, 'a new set')
      const changed = await email(app, token)
      assert.equal(changed.statusCode, 200, changed.body)
      assert.equal(changed.json().email, 'alice@example.com')
      const renewed = await password(app, token)
      assert.equal(renewed.statusCode, 204, renewed.body)
      assert.equal((await firstStep(app, 'alice', NEW_PASSWORD)).mfa_required, true)
      assertProblem(await login(app, 'alice', PASSWORD), 401, 'invalid_credentials')
      // The change ended every session: a new one, still at AAL2.
      token = await tokenAt(app, alice.userId, 'aal2')
      const gone = await remove(app, token, NEW_PASSWORD)
      assert.equal(gone.statusCode, 204, gone.body)
      assert.equal(await userExists(app, alice.userId), false)
    })

    test('the session the second step gives is enough', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      const step = await firstStep(app, 'alice')
      const res = await secondStep(app, step.mfa_token, { recovery_code: alice.codes[0] })
      assert.equal(res.statusCode, 200, res.body)
      const made = await newCodes(app, (res.json() as Session).access_token)
      assert.equal(made.statusCode, 201, made.body)
    })

    test('without a token: 401 invalid_token, not 403', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await accountWithFactor(app, 'alice')
      for (const [what, send] of GUARDED) {
        assertProblem(await send(app, 'not.a.token'), 401, 'invalid_token', what)
      }
    })
  })

  describe(`no step-up on an account without a factor (${dialect})`, () => {
    test('an aal1 session does all four', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      assert.equal(authOf(alice.access_token).aal, 'aal1')
      const made = await codes(app, alice.access_token)
      assert.equal(made.statusCode, 201, made.body)
      const changed = await email(app, alice.access_token)
      assert.equal(changed.statusCode, 200, changed.body)
      const renewed = await password(app, alice.access_token)
      assert.equal(renewed.statusCode, 204, renewed.body)
      const again = await session(app, 'alice', NEW_PASSWORD)
      assert.equal(authOf(again.access_token).aal, 'aal1')
      const gone = await remove(app, again.access_token, NEW_PASSWORD)
      assert.equal(gone.statusCode, 204, gone.body)
      assert.equal(await userExists(app, alice.user.id), false)
    })
  })
}
