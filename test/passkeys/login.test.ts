import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeJwt } from 'jose'
import type { App } from '../../src/app.ts'
import { REFRESH_COOKIE } from '../../src/sessions/cookie.ts'
import {
  enrolPasskey,
  originOf,
  passkeyLogin,
  passkeyLoginOptions,
  passwordlessAssertion,
  type SoftwareAuthenticator,
  softwareAuthenticator,
} from '../support/authenticator.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertNoSecret } from '../support/mail.ts'
import { assertProblem } from '../support/problems.ts'
import { bearer, deleteMe, me, SESSION_FIELDS, signUp } from '../support/requests.ts'

const passkeyRow = (app: App, credentialId: string) =>
  app.store.db
    .selectFrom('factors')
    .selectAll()
    .where('credential_id', '=', credentialId)
    .executeTakeFirstOrThrow()

/** Alice with one passkey on `authenticator`, registered through the API. */
async function aliceWithPasskey(
  app: App,
  authenticator: SoftwareAuthenticator,
  knobs: Parameters<typeof enrolPasskey>[3] = {},
) {
  const alice = await signUp(app, 'alice')
  const passkey = await enrolPasskey(app, alice.access_token, authenticator, knobs)
  return { alice, ...passkey }
}

for (const dialect of dialects()) {
  describe(`POST /session/passkey/options (${dialect})`, () => {
    test('request options for a discoverable credential, user verification required; the challenge stored for 5 minutes', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(new Date('2026-05-01T12:00:00.000Z'))
      const res = await passkeyLoginOptions(app)
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      const options = res.json()
      assert.deepEqual(Object.keys(options).sort(), [
        'challenge',
        'rpId',
        'timeout',
        'userVerification',
      ])
      assert.equal(options.rpId, 'localhost')
      assert.equal(options.userVerification, 'required')
      assert.equal(options.timeout, 300_000)
      const row = await app.store.db
        .selectFrom('challenges')
        .selectAll()
        .where('id', '=', options.challenge)
        .executeTakeFirstOrThrow()
      assert.equal(row.purpose, 'passkey_login')
      assert.equal(row.user_id, null)
      assert.equal(new Date(row.expires_at).toISOString(), '2026-05-01T12:05:00.000Z')
      assertProblem(
        await app.inject({ method: 'POST', url: '/session/passkey/options', payload: { a: 1 } }),
        422,
        'validation_failed',
      )
    })
  })

  describe(`POST /session/passkey (${dialect})`, () => {
    test('a device-bound passkey signs in: the token pair of a login, amr [hwk, mfa], aal2; GET /user/me works', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      const { alice, id, credentialId } = await aliceWithPasskey(app, authenticator)
      clock.freeze(new Date(Date.now() + 60_000))
      const res = await passkeyLogin(app, await passwordlessAssertion(app, authenticator))
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), SESSION_FIELDS)
      assert.equal(body.token_type, 'Bearer')
      assert.equal(body.user.id, alice.user.id)
      assert.equal(body.user.mfa_enabled, true)
      const claims = decodeJwt(body.access_token)
      assert.equal(claims.sub, alice.user.id)
      assert.deepEqual(claims.amr, ['hwk', 'mfa'])
      assert.equal(claims.aal, 'aal2')
      assert.equal(typeof claims.sid, 'string')

      const user = await me(app, body.access_token)
      assert.equal(user.statusCode, 200, user.body)
      assert.equal(user.json().id, alice.user.id)
      // An AAL2 session: what needs step-up is open to it.
      const more = await app.inject({
        method: 'POST',
        url: '/user/me/factors/passkey/options',
        headers: bearer(body.access_token),
        payload: {},
      })
      assert.equal(more.statusCode, 200, more.body)

      const row = await passkeyRow(app, credentialId)
      assert.equal(row.id, id)
      assert.equal(Number(row.sign_count), 1, 'the counter moved on')
      assert.equal(new Date(row.last_used_at ?? 0).toISOString(), clock.now().toISOString())
    })

    test('a synced passkey (backup eligible, count always 0) signs in again and again: amr [swk, mfa]', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      const { alice, credentialId } = await aliceWithPasskey(app, authenticator, {
        backupEligible: true,
        backupState: false,
      })
      for (let i = 0; i < 3; i++) {
        const res = await passkeyLogin(app, await passwordlessAssertion(app, authenticator))
        assert.equal(res.statusCode, 200, `login ${i}: ${res.body}`)
        assert.equal(res.json().user.id, alice.user.id)
        assert.deepEqual(decodeJwt(res.json().access_token).amr, ['swk', 'mfa'])
      }
      const row = await passkeyRow(app, credentialId)
      assert.equal(Number(row.sign_count), 0)
      assert.equal(row.backup_state, 0)
      // Backed up since: the state follows the authenticator's flag.
      const stored = authenticator.credentials()[0]
      assert.ok(stored)
      stored.backupState = true
      const res = await passkeyLogin(app, await passwordlessAssertion(app, authenticator))
      assert.equal(res.statusCode, 200, res.body)
      assert.equal((await passkeyRow(app, credentialId)).backup_state, 1)
    })

    test('refused with 401 invalid_credentials: a foreign origin, another RP ID, no user verification, a bad signature, an unknown credential, another user handle', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      const { credentialId } = await aliceWithPasskey(app, authenticator)
      const stranger = softwareAuthenticator()
      await enrolPasskey(app, (await signUp(app, 'bob')).access_token, stranger)
      const unregistered = softwareAuthenticator()
      // A credential made for this RP ID that was never registered here.
      unregistered.createCredential(
        {
          rp: { id: 'localhost', name: 'usersvc' },
          user: { id: 'AAAA', name: 'mallory', displayName: 'mallory' },
          challenge: 'AAAA',
          pubKeyCredParams: [],
        },
        { origin: originOf(app) },
      )

      const badSignature = await passwordlessAssertion(app, authenticator)
      const signature = Buffer.from(badSignature.response.signature, 'base64url')
      signature[signature.length - 1] = (signature.at(-1) ?? 0) ^ 1
      badSignature.response.signature = signature.toString('base64url')

      const refusals = {
        'a foreign origin': await passwordlessAssertion(app, authenticator, {
          origin: 'https://evil.example',
        }),
        'an origin on another port': await passwordlessAssertion(app, authenticator, {
          origin: 'https://localhost:9443',
        }),
        'another RP ID': await passwordlessAssertion(app, authenticator, { rpId: 'evil.example' }),
        'no user verification': await passwordlessAssertion(app, authenticator, { uv: false }),
        'a bad signature': badSignature,
        'an unknown credential': await passwordlessAssertion(app, unregistered),
        'the user handle of another user': await passwordlessAssertion(app, authenticator, {
          userHandle: stranger.credentials()[0]?.userHandle ?? '',
        }),
      }
      for (const [what, credential] of Object.entries(refusals)) {
        assertProblem(await passkeyLogin(app, credential), 401, 'invalid_credentials', what)
      }
      // None of them moved the counter; a good assertion still works.
      assert.equal(Number((await passkeyRow(app, credentialId)).sign_count), 0)
      const ok = await passkeyLogin(app, await passwordlessAssertion(app, authenticator))
      assert.equal(ok.statusCode, 200, ok.body)
      // No user handle at all is fine (U2F-era authenticators send none).
      const none = await passwordlessAssertion(app, authenticator, { userHandle: null })
      assert.equal((await passkeyLogin(app, none)).statusCode, 200)
    })

    test('a challenge is used once, even by a refused assertion; an expired or another kind of challenge is refused', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      const { alice } = await aliceWithPasskey(app, authenticator)
      const origin = originOf(app)

      const options = (await passkeyLoginOptions(app)).json()
      const first = authenticator.getAssertion(options, { origin })
      assert.equal((await passkeyLogin(app, first)).statusCode, 200)
      const replay = authenticator.getAssertion(options, { origin })
      assertProblem(await passkeyLogin(app, replay), 401, 'invalid_credentials', 'reused challenge')
      assertProblem(await passkeyLogin(app, first), 401, 'invalid_credentials', 'replayed as is')

      const spentByFailure = (await passkeyLoginOptions(app)).json()
      const foreign = authenticator.getAssertion(spentByFailure, { origin: 'https://evil.example' })
      assertProblem(await passkeyLogin(app, foreign), 401, 'invalid_credentials', 'foreign')
      const after = authenticator.getAssertion(spentByFailure, { origin })
      assertProblem(await passkeyLogin(app, after), 401, 'invalid_credentials', 'after a failure')

      const late = (await passkeyLoginOptions(app)).json()
      clock.advance(301)
      const expired = authenticator.getAssertion(late, { origin })
      assertProblem(await passkeyLogin(app, expired), 401, 'invalid_credentials', 'expired')

      const registration = (
        await app.inject({
          method: 'POST',
          url: '/user/me/factors/passkey/options',
          headers: bearer(alice.access_token),
          payload: {},
        })
      ).json()
      const wrongKind = authenticator.getAssertion(
        { ...late, challenge: registration.challenge ?? 'x' },
        { origin },
      )
      assertProblem(
        await passkeyLogin(app, wrongKind),
        401,
        'invalid_credentials',
        'registration’s',
      )
      const mfa = await app.passkeys.requestOptions({
        purpose: 'passkey_mfa',
        userId: alice.user.id,
        link: 'some-mfa-token-id',
      })
      const mfaKind = authenticator.getAssertion(mfa, { origin })
      assertProblem(await passkeyLogin(app, mfaKind), 401, 'invalid_credentials', 'a second step’s')
    })

    test('one assertion sent twice at once: exactly one session', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      const { alice } = await aliceWithPasskey(app, authenticator)
      const credential = await passwordlessAssertion(app, authenticator)
      const answers = await Promise.all([1, 2, 3].map(() => passkeyLogin(app, credential)))
      assert.deepEqual(answers.map((r) => r.statusCode).sort(), [200, 401, 401])
      const sessions = await app.store.db
        .selectFrom('sessions')
        .select('aal')
        .where('user_id', '=', alice.user.id)
        .execute()
      // The password login of signUp, and the one passkey login.
      assert.deepEqual(sessions.map((s) => s.aal).sort(), ['aal1', 'aal2'])
    })

    test('a signature count that does not go up is refused (a cloned authenticator)', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      const { credentialId } = await aliceWithPasskey(app, authenticator)
      const login = async (signCount: number) =>
        passkeyLogin(app, await passwordlessAssertion(app, authenticator, { signCount }))
      assert.equal((await login(5)).statusCode, 200)
      assertProblem(await login(3), 401, 'invalid_credentials', 'backwards')
      assertProblem(await login(5), 401, 'invalid_credentials', 'the same count')
      assertProblem(await login(0), 401, 'invalid_credentials', 'back to 0 after counting')
      assert.equal(Number((await passkeyRow(app, credentialId)).sign_count), 5)
      assert.equal((await login(6)).statusCode, 200)
      assert.equal(Number((await passkeyRow(app, credentialId)).sign_count), 6)
    })

    test('a passkey whose backup eligibility changed is refused (WebAuthn L3 §6.1.3)', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      await aliceWithPasskey(app, authenticator)
      const stored = authenticator.credentials()[0]
      assert.ok(stored)
      stored.backupEligible = true
      const res = await passkeyLogin(app, await passwordlessAssertion(app, authenticator))
      assertProblem(res, 401, 'invalid_credentials')
    })

    test('an account deleted since: its passkey no longer signs in', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      await aliceWithPasskey(app, authenticator)
      const session = await passkeyLogin(app, await passwordlessAssertion(app, authenticator))
      assert.equal(session.statusCode, 200)
      // The passkey's own AAL2 session may delete the account.
      assert.equal((await deleteMe(app, session.json().access_token)).statusCode, 204)
      const res = await passkeyLogin(app, await passwordlessAssertion(app, authenticator))
      assertProblem(res, 401, 'invalid_credentials')
    })

    test('bad bodies: 422 validation_failed, and the challenge is not used up', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      await aliceWithPasskey(app, authenticator)
      const good = await passwordlessAssertion(app, authenticator)
      const bodies: Record<string, unknown> = {
        'no credential': {},
        'a credential that is a number': { credential: 1 },
        'an unknown property': { credential: good, login: 'alice' },
        'no signature': {
          credential: { ...good, response: { ...good.response, signature: undefined } },
        },
        'an oversized clientDataJSON': {
          credential: { ...good, response: { ...good.response, clientDataJSON: 'A'.repeat(4097) } },
        },
        'a credential id with a NUL': {
          credential: { ...good, id: 'a\u0000b', rawId: 'a\u0000b' },
        },
      }
      for (const [what, payload] of Object.entries(bodies)) {
        const res = await app.inject({
          method: 'POST',
          url: '/session/passkey',
          payload: payload as object,
        })
        assertProblem(res, 422, 'validation_failed', what)
      }
      assert.equal((await passkeyLogin(app, good)).statusCode, 200)
    })

    test('?cookie=true: the refresh token goes into the cookie, for a request of this service’s origin', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const authenticator = softwareAuthenticator()
      await aliceWithPasskey(app, authenticator)
      const credential = await passwordlessAssertion(app, authenticator)
      const foreign = await app.inject({
        method: 'POST',
        url: '/session/passkey?cookie=true',
        headers: { host: 'usersvc.test', origin: 'https://evil.example' },
        payload: { credential },
      })
      assertProblem(foreign, 403, 'forbidden')
      const res = await app.inject({
        method: 'POST',
        url: '/session/passkey?cookie=true',
        headers: { host: 'usersvc.test', origin: 'http://usersvc.test' },
        payload: { credential },
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.json().refresh_token, undefined)
      assert.match(String(res.headers['set-cookie']), new RegExp(`^${REFRESH_COOKIE}=`))
    })

    test('the throttle counts passkey logins and their options as login attempts of the address', async (t) => {
      const { app } = await makeApp(t, { dialect, env: { THROTTLE_LOGIN_PER_ADDRESS: '3' } })
      const authenticator = softwareAuthenticator()
      await aliceWithPasskey(app, authenticator)
      const credential = await passwordlessAssertion(app, authenticator)
      assert.equal((await passkeyLogin(app, credential)).statusCode, 200)
      assertProblem(await passkeyLoginOptions(app), 429, 'rate_limited', 'options')
      assertProblem(await passkeyLogin(app, credential), 429, 'rate_limited', 'login')
    })

    test('no access or refresh token in any log line', async (t) => {
      const { app, logs } = await makeApp(t, { dialect, env: { LOG_LEVEL: 'trace' } })
      const authenticator = softwareAuthenticator()
      await aliceWithPasskey(app, authenticator)
      const res = await passkeyLogin(app, await passwordlessAssertion(app, authenticator))
      assert.equal(res.statusCode, 200)
      const { access_token, refresh_token } = res.json()
      await me(app, access_token)
      assertNoSecret(logs, [access_token, refresh_token, access_token.split('.')[2]], 'the log')
    })
  })
}
