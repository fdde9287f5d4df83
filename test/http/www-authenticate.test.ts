// Which 401s carry WWW-Authenticate: only those about the Bearer access token (RFC 6750 §3). A
// failed login, a wrong current password or a bad refresh token involve no access token, and a
// Bearer challenge there would tell the client to send one.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { makeApp } from '../support/harness.ts'
import { assertProblem, BEARER_CHALLENGE, INVALID_TOKEN_CHALLENGE } from '../support/problems.ts'
import { changePassword, deleteMe, login, me, refresh, signUp } from '../support/requests.ts'

test('invalid_credentials and invalid_refresh_token 401s carry no challenge', async (t) => {
  const { app } = await makeApp(t)
  const alice = await signUp(app, 'alice')
  const cases = [
    [
      'wrong password',
      await login(app, 'alice', 'not the right password at all'),
      'invalid_credentials',
    ],
    [
      'unknown login',
      await login(app, 'nobody-here', 'not the right password at all'),
      'invalid_credentials',
    ],
    [
      'malformed login',
      await login(app, ' x', 'not the right password at all'),
      'invalid_credentials',
    ],
    [
      'wrong current password',
      await changePassword(app, alice.access_token, {
        current_password: 'not the right password at all',
        new_password: 'a brand new tremendously long passphrase',
      }),
      'invalid_credentials',
    ],
    [
      'wrong password to delete the account',
      await deleteMe(app, alice.access_token, 'not the right password at all'),
      'invalid_credentials',
    ],
    ['unknown refresh token', await refresh(app, 'nope'), 'invalid_refresh_token'],
  ] as const
  for (const [what, res, code] of cases) {
    assertProblem(res, 401, code, what)
    assert.equal(res.headers['www-authenticate'], undefined, what)
  }
})

test('invalid_token 401s keep their Bearer challenge', async (t) => {
  const { app } = await makeApp(t)
  const alice = await signUp(app, 'alice')
  const none = await app.inject({ method: 'GET', url: '/user/me' })
  assertProblem(none, 401, 'invalid_token')
  assert.equal(none.headers['www-authenticate'], BEARER_CHALLENGE)
  const bad = await me(app, `${alice.access_token}x`)
  assertProblem(bad, 401, 'invalid_token')
  assert.equal(bad.headers['www-authenticate'], INVALID_TOKEN_CHALLENGE)
})
