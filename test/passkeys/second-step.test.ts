// app.passkeys as a login's second step uses it (the lead's POST /session/mfa): options that
// allow only the user's passkeys, and verifyAssertion bound to one mfa_token.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import type { AssertionExpectation } from '../../src/passkeys/service.ts'
import { userRepository } from '../../src/users/repository.ts'
import {
  aal2Token,
  enrolPasskey,
  originOf,
  type SoftwareAuthenticator,
  softwareAuthenticator,
} from '../support/authenticator.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { signUp } from '../support/requests.ts'

async function userOf(app: App, id: string) {
  const user = await userRepository(app.store.db).findById(id)
  assert.ok(user)
  return user
}

/** A user with a passkey on each of `authenticators`. */
async function withPasskeys(app: App, login: string, ...authenticators: SoftwareAuthenticator[]) {
  const session = await signUp(app, login)
  const ids: string[] = []
  let token = session.access_token
  for (const authenticator of authenticators) {
    ids.push((await enrolPasskey(app, token, authenticator)).credentialId)
    token = await aal2Token(app, await userOf(app, session.user.id))
  }
  return { userId: session.user.id, credentialIds: ids }
}

const mfa = (userId: string, link = 'mfa-token-id'): AssertionExpectation => ({
  purpose: 'passkey_mfa',
  userId,
  link,
})

for (const dialect of dialects()) {
  describe(`app.passkeys for a second step (${dialect})`, () => {
    test('request options allow only the user’s passkeys, user verification preferred; the challenge carries the link', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(new Date('2026-05-01T12:00:00.000Z'))
      const alice = await withPasskeys(
        app,
        'alice',
        softwareAuthenticator(),
        softwareAuthenticator(),
      )
      await withPasskeys(app, 'bob', softwareAuthenticator())
      const options = await app.passkeys.requestOptions(mfa(alice.userId, 'link-1'))
      assert.equal(options.userVerification, 'preferred')
      assert.equal(options.rpId, 'localhost')
      assert.equal(options.timeout, 300_000)
      assert.deepEqual(
        options.allowCredentials?.map((d) => d.id).sort(),
        [...alice.credentialIds].sort(),
      )
      const row = await app.store.db
        .selectFrom('challenges')
        .selectAll()
        .where('id', '=', options.challenge)
        .executeTakeFirstOrThrow()
      assert.equal(row.purpose, 'passkey_mfa')
      assert.equal(row.user_id, alice.userId)
      assert.deepEqual(JSON.parse(row.data), { link: 'link-1' })
      assert.equal(new Date(row.expires_at).toISOString(), '2026-05-01T12:05:00.000Z')
    })

    test('verifyAssertion: the user, the factor and hwk; without user verification too; once per challenge', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      const alice = await withPasskeys(app, 'alice', authenticator)
      const factor = await app.store.db
        .selectFrom('factors')
        .select('id')
        .where('user_id', '=', alice.userId)
        .executeTakeFirstOrThrow()
      const options = await app.passkeys.requestOptions(mfa(alice.userId))
      const credential = authenticator.getAssertion(options, { origin: originOf(app), uv: false })
      assert.deepEqual(await app.passkeys.verifyAssertion(credential, mfa(alice.userId)), {
        userId: alice.userId,
        factorId: factor.id,
        amr: 'hwk',
      })
      assert.equal(await app.passkeys.verifyAssertion(credential, mfa(alice.userId)), undefined)
    })

    test('a synced passkey proves swk', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      const alice = await signUp(app, 'alice')
      await enrolPasskey(app, alice.access_token, authenticator, { backupEligible: true })
      const options = await app.passkeys.requestOptions(mfa(alice.user.id))
      const credential = authenticator.getAssertion(options, { origin: originOf(app) })
      const proof = await app.passkeys.verifyAssertion(credential, mfa(alice.user.id))
      assert.equal(proof?.amr, 'swk')
    })

    test('undefined for another link, another user, another user’s passkey, a login’s challenge, and any malformed input', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const origin = originOf(app)
      const aliceKey = softwareAuthenticator()
      const bobKey = softwareAuthenticator()
      const alice = await withPasskeys(app, 'alice', aliceKey)
      const bob = await withPasskeys(app, 'bob', bobKey)

      const fresh = async (expect: AssertionExpectation, key = aliceKey, credentialId?: string) => {
        const options = await app.passkeys.requestOptions(expect)
        return key.getAssertion(options, { origin, ...(credentialId ? { credentialId } : {}) })
      }
      const cases: Array<[string, unknown, AssertionExpectation]> = [
        [
          'a challenge of another link',
          await fresh(mfa(alice.userId, 'a')),
          mfa(alice.userId, 'b'),
        ],
        [
          'a challenge of another user',
          await fresh(mfa(bob.userId), aliceKey, alice.credentialIds[0]),
          mfa(alice.userId),
        ],
        [
          'bob’s passkey for alice’s step',
          await fresh(mfa(alice.userId), bobKey, bob.credentialIds[0]),
          mfa(alice.userId),
        ],
        [
          'a passwordless login’s challenge',
          await fresh({ purpose: 'passkey_login' }),
          mfa(alice.userId),
        ],
        [
          'an mfa challenge for a passwordless login',
          await fresh(mfa(alice.userId)),
          { purpose: 'passkey_login' },
        ],
        ['null', null, mfa(alice.userId)],
        ['a string', 'credential', mfa(alice.userId)],
        ['an empty object', {}, mfa(alice.userId)],
        [
          'clientDataJSON that is not JSON',
          {
            ...(await fresh(mfa(alice.userId))),
            response: { clientDataJSON: 'bm90IGpzb24', authenticatorData: 'AA', signature: 'AA' },
          },
          mfa(alice.userId),
        ],
      ]
      for (const [what, credential, expect] of cases) {
        assert.equal(await app.passkeys.verifyAssertion(credential, expect), undefined, what)
      }
      // Nothing was used: the counters never moved.
      const counts = await app.store.db.selectFrom('factors').select('sign_count').execute()
      assert.deepEqual(
        counts.map((r) => Number(r.sign_count)),
        [0, 0],
      )
      // And the setup is sound: alice's own assertion for her own step passes.
      const own = await app.passkeys.verifyAssertion(
        await fresh(mfa(alice.userId)),
        mfa(alice.userId),
      )
      assert.equal(own?.userId, alice.userId)
    })
  })
}
