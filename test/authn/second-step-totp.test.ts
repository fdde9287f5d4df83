import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { authOf, firstStep } from '../support/factors.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { me, secondStep, signUp } from '../support/requests.ts'
import { activeTotp, totpCode } from '../support/totp.ts'

for (const dialect of dialects()) {
  describe(`POST /session/mfa with an authenticator app's code (${dialect})`, () => {
    test('the password alone is not enough; the code finishes an AAL2 login, once', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze()
      const first = await signUp(app, 'alice')
      const { secret } = await activeTotp(app, first.access_token)
      assert.equal((await me(app, first.access_token)).json().mfa_enabled, true)

      // The confirming code spent this time step: the login's code comes from the next one.
      clock.advance(30)
      const step = await firstStep(app, 'alice')
      assert.deepEqual(step.methods, ['totp'])
      const code = totpCode(secret, clock.now().getTime())
      const res = await secondStep(app, step.mfa_token, { code })
      assert.equal(res.statusCode, 200, res.body)
      const body = res.json()
      assert.deepEqual(authOf(body.access_token).amr, ['pwd', 'otp', 'mfa'])
      assert.equal(authOf(body.access_token).aal, 'aal2')
      assert.equal(body.user.mfa_enabled, true)
      assert.equal((await me(app, body.access_token)).statusCode, 200)

      // The same code in another login: a replay (RFC 6238 §5.2).
      const again = await firstStep(app, 'alice')
      assertProblem(await secondStep(app, again.mfa_token, { code }), 400, 'invalid_code')
      // A code two steps away is refused too; the next step's code works.
      const far = totpCode(secret, clock.now().getTime(), 2)
      assertProblem(await secondStep(app, again.mfa_token, { code: far }), 400, 'invalid_code')
      clock.advance(30)
      const next = totpCode(secret, clock.now().getTime())
      assert.equal((await secondStep(app, again.mfa_token, { code: next })).statusCode, 200)
    })

    test('a passkey proof on an account without passkeys is 400 invalid_code and counts', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze()
      const first = await signUp(app, 'bob')
      const { secret } = await activeTotp(app, first.access_token)
      clock.advance(30)
      const step = await firstStep(app, 'bob')
      const credential = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: {} }
      for (let i = 0; i < 5; i++) {
        assertProblem(await secondStep(app, step.mfa_token, { credential }), 400, 'invalid_code')
      }
      // Five wrong proofs: the token is dead, even for the right code.
      const code = totpCode(secret, clock.now().getTime())
      assertProblem(await secondStep(app, step.mfa_token, { code }), 401, 'invalid_mfa_token')
    })
  })
}
