import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { v7 as uuidv7 } from 'uuid'
import type { App } from '../../src/app.ts'
import { normalisePassword } from '../../src/passwords/policy.ts'
import { fold } from '../../src/text.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { changePassword, deleteMe, login, NEW_PASSWORD, PASSWORD } from '../support/requests.ts'
import { sessionToken } from '../support/tokens.ts'

// The one password check (src/authn/password.ts), through every path that asks it.

const WRONG = 'not the right password at all'

/**
 * An account made before the login rules tightened: its login breaks today's rules (a space),
 * and is stored as registration stored every login, under its folded key.
 */
async function legacyAccount(app: App, name: string) {
  const now = new Date().toISOString()
  const id = uuidv7()
  await app.store.db
    .insertInto('users')
    .values({
      id,
      login: name,
      login_key: fold(name),
      password_hash: await app.hasher.hash(normalisePassword(PASSWORD)),
      role: 'user',
      registered_at: now,
      password_changed_at: now,
    })
    .execute()
  const user = await app.users.get({ id, role: 'user' }, id)
  return { id, token: await sessionToken(app, user) }
}

for (const dialect of dialects()) {
  describe(`the password check (${dialect})`, () => {
    test('finds an account by its stored key: a login today’s rules refuse still logs in', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await legacyAccount(app, 'old name')
      const res = await login(app, 'old name')
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.json().user.login, 'old name')
      // …found by the key, so its folded forms are the same account, as at registration.
      assert.equal((await login(app, 'OLD NAME')).statusCode, 200)
      assertProblem(await login(app, 'old name', WRONG), 401, 'invalid_credentials')
    })

    test('every path counts on one counter per account: login, password change, deletion', async (t) => {
      // Locked at the 3rd consecutive failure, whatever asked; no back-off before (no timing).
      const env = {
        THROTTLE_FAILURE_LIMIT: '3',
        THROTTLE_BACKOFF_AFTER: '100',
        THROTTLE_ACCOUNT_BACKOFF_AFTER: '100',
      }
      const { app } = await makeApp(t, { dialect, env })
      const { token } = await legacyAccount(app, 'old name')
      assertProblem(await login(app, 'old name', WRONG), 401, 'invalid_credentials', 'login')
      const change = await changePassword(app, token, {
        current_password: WRONG,
        new_password: NEW_PASSWORD,
      })
      assertProblem(change, 401, 'invalid_credentials', 'password change')
      const remove = await deleteMe(app, token, WRONG)
      assertProblem(remove, 401, 'invalid_credentials', 'deletion')
      // Three failures on one account: even the right password now waits.
      const locked = await login(app, 'old name')
      assertProblem(locked, 429, 'rate_limited', 'the right password after 3 failures')
      assert.ok(Number(locked.headers['retry-after']) > 60, String(locked.headers['retry-after']))
      const changeNow = await changePassword(app, token, {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      })
      assertProblem(changeNow, 429, 'rate_limited', 'a password change after 3 failures')
    })
  })
}
