// A password change ends every session that existed before it, whatever it races with: a refresh
// with an old token, or a second change. Run many times, the interleavings vary; the rule must
// hold in each.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { changePassword, login, me, refresh, session, signUp } from '../support/requests.ts'
import { liveRefreshTokens } from '../support/store.ts'

const ROUNDS = 15
const passwordOf = (round: number) => `the password of round ${round}, long enough`

for (const dialect of dialects()) {
  describe(`a password change racing other requests (${dialect})`, () => {
    test('racing a refresh and a login: nothing from before the change works after it', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const first = await signUp(app, 'racer', passwordOf(0))
      const userId = first.user.id
      for (let round = 1; round <= ROUNDS; round++) {
        const before = await session(app, 'racer', passwordOf(round - 1))
        const [refreshed, loggedIn, changed] = await Promise.all([
          refresh(app, before.refresh_token),
          login(app, 'racer', passwordOf(round - 1)),
          changePassword(app, before.access_token, {
            current_password: passwordOf(round - 1),
            new_password: passwordOf(round),
          }),
        ])
        assert.equal(changed.statusCode, 204, `round ${round}: ${changed.body}`)
        for (const res of [refreshed, loggedIn]) {
          assert.ok([200, 401].includes(res.statusCode), `round ${round}: ${res.body}`)
        }
        const tokens = [before, refreshed.json(), loggedIn.json()]
        for (const token of tokens.map((s) => s.access_token).filter(Boolean)) {
          assertProblem(await me(app, token), 401, 'invalid_token', `round ${round}`)
        }
        assert.deepEqual(
          await liveRefreshTokens(app, userId),
          [],
          `round ${round}: a session outlived the change`,
        )
      }
    })

    test('two changes checked against the same password: one wins, the other is refused', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const { access_token: token } = await signUp(app, 'twice', passwordOf(0))
      const [a, b] = await Promise.all(
        ['a', 'b'].map((which) =>
          changePassword(app, token, {
            current_password: passwordOf(0),
            new_password: `${passwordOf(1)} ${which}`,
          }),
        ),
      )
      const statuses = [a?.statusCode, b?.statusCode].sort()
      // Either both were checked before either committed (one is refused), or one after the
      // other: then the first already ended the token the second uses.
      assert.deepEqual(statuses, [204, 401], `${a?.body} ${b?.body}`)
      const winner = a?.statusCode === 204 ? 'a' : 'b'
      await session(app, 'twice', `${passwordOf(1)} ${winner}`)
    })
  })
}
