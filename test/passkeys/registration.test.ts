import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import { userRepository } from '../../src/users/repository.ts'
import {
  aal2Token,
  addPasskey,
  enrolPasskey,
  originOf,
  passkeyOptions,
  softwareAuthenticator,
} from '../support/authenticator.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { mailDir } from '../support/mail.ts'
import { assertProblem } from '../support/problems.ts'
import { setAddress } from '../support/recovery-codes.ts'
import { me, signUp } from '../support/requests.ts'
import { sessionToken } from '../support/tokens.ts'

const factorRows = (app: App, userId: string) =>
  app.store.db.selectFrom('factors').selectAll().where('user_id', '=', userId).execute()

const challengeRow = (app: App, id: string) =>
  app.store.db.selectFrom('challenges').selectAll().where('id', '=', id).executeTakeFirst()

/** The 16 bytes of a UUID, base64url: the user handle the service gives authenticators. */
const handleOf = (userId: string) =>
  Buffer.from(userId.replaceAll('-', ''), 'hex').toString('base64url')

for (const dialect of dialects()) {
  describe(`POST /user/me/factors/passkey/options (${dialect})`, () => {
    test('creation options: discoverable, UV preferred, no attestation, the user id as handle; the challenge stored for 5 minutes', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(new Date('2026-05-01T12:00:00.000Z'))
      const alice = await signUp(app, 'alice')
      const res = await passkeyOptions(app, alice.access_token)
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      const options = res.json()
      assert.deepEqual(options.rp, { id: 'localhost', name: 'usersvc' })
      assert.deepEqual(options.user, {
        id: handleOf(alice.user.id),
        name: 'alice',
        displayName: 'alice',
      })
      assert.notEqual(Buffer.from(options.user.id, 'base64url').toString(), 'alice')
      assert.deepEqual(options.authenticatorSelection, {
        residentKey: 'required',
        requireResidentKey: true,
        userVerification: 'preferred',
      })
      assert.equal(options.attestation, 'none')
      assert.deepEqual(options.excludeCredentials, [])
      assert.equal(options.timeout, 300_000)
      assert.ok(
        options.pubKeyCredParams.some((p: { alg: number }) => p.alg === -7),
        'ES256',
      )
      assert.match(options.challenge, /^[A-Za-z0-9_-]{43}$/)

      const row = await challengeRow(app, options.challenge)
      assert.ok(row)
      assert.equal(row.purpose, 'passkey_registration')
      assert.equal(row.user_id, alice.user.id)
      assert.equal(row.used_at, null)
      assert.equal(new Date(row.expires_at).toISOString(), '2026-05-01T12:05:00.000Z')

      const again = (await passkeyOptions(app, alice.access_token)).json()
      assert.notEqual(again.challenge, options.challenge, 'a new challenge each time')
    })

    test('the user’s passkeys are excluded, with their transports; another user’s are not', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      const first = await enrolPasskey(app, alice.access_token, softwareAuthenticator())
      const aal2 = await aal2Token(app, await userOf(app, alice.user.id))
      const second = await enrolPasskey(app, aal2, softwareAuthenticator())
      await enrolPasskey(app, bob.access_token, softwareAuthenticator())
      const bobAal2 = await aal2Token(app, await userOf(app, bob.user.id))

      const options = (await passkeyOptions(app, aal2)).json()
      assert.deepEqual(
        options.excludeCredentials.map((d: { id: string }) => d.id).sort(),
        [first.credentialId, second.credentialId].sort(),
      )
      for (const descriptor of options.excludeCredentials) {
        assert.deepEqual(descriptor.transports, ['internal', 'hybrid'])
        assert.equal(descriptor.type, 'public-key')
      }
      assert.deepEqual(
        (await passkeyOptions(app, bobAal2)).json().excludeCredentials.length,
        1,
        'bob sees his own one only',
      )
    })
  })

  describe(`POST /user/me/factors/passkey (${dialect})`, () => {
    test('registers the credential: 201 with the factor and Location; stored with key, count, transports and backup flags; mfa_enabled', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(new Date('2026-05-01T12:00:00.000Z'))
      const alice = await signUp(app, 'alice')
      const authenticator = softwareAuthenticator()
      const options = (await passkeyOptions(app, alice.access_token)).json()
      const credential = authenticator.createCredential(options, { origin: originOf(app) })
      const res = await addPasskey(app, alice.access_token, { credential })
      assert.equal(res.statusCode, 201, res.body)
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), [
        'created_at',
        'id',
        'last_used_at',
        'name',
        'type',
      ])
      assert.equal(body.type, 'passkey')
      assert.equal(body.name, 'Passkey')
      assert.equal(body.created_at, '2026-05-01T12:00:00.000Z')
      assert.equal(body.last_used_at, null)
      assert.equal(res.headers.location, `/user/me/factors/${body.id}`)

      const [row] = await factorRows(app, alice.user.id)
      assert.ok(row)
      assert.equal(row.id, body.id)
      assert.equal(row.type, 'passkey')
      assert.equal(row.credential_id, credential.id)
      assert.ok(row.public_key && row.public_key.length > 80, 'the COSE key')
      assert.equal(Number(row.sign_count), 0)
      assert.deepEqual(JSON.parse(row.transports ?? 'null'), ['internal', 'hybrid'])
      assert.equal(row.backup_eligible, 0)
      assert.equal(row.backup_state, 0)
      assert.notEqual(row.confirmed_at, null, 'active at once')
      assert.equal((await challengeRow(app, options.challenge))?.used_at !== null, true, 'spent')

      const user = await me(app, alice.access_token)
      assert.equal(user.json().mfa_enabled, true)
    })

    test('a synced passkey keeps its backup flags; the name is trimmed', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const options = (await passkeyOptions(app, alice.access_token)).json()
      const credential = softwareAuthenticator().createCredential(options, {
        origin: originOf(app),
        backupEligible: true,
        backupState: true,
      })
      const res = await addPasskey(app, alice.access_token, { name: '  Phone  ', credential })
      assert.equal(res.statusCode, 201, res.body)
      assert.equal(res.json().name, 'Phone')
      const [row] = await factorRows(app, alice.user.id)
      assert.equal(row?.name, 'Phone')
      assert.equal(row?.backup_eligible, 1)
      assert.equal(row?.backup_state, 1)
    })

    test('a response that does not verify: 400 invalid_passkey, nothing stored, the challenge spent', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const cases = {
        'a foreign origin': { origin: 'https://evil.example' },
        'another RP ID': { rpId: 'evil.example' },
        'a challenge never issued': { challenge: 'A'.repeat(43) },
        'a create of another type (a get)': {},
      } as const
      for (const [what, knobs] of Object.entries(cases)) {
        const options = (await passkeyOptions(app, alice.access_token)).json()
        const authenticator = softwareAuthenticator()
        let credential = authenticator.createCredential(options, {
          origin: originOf(app),
          ...knobs,
        })
        if (what.includes('another type')) {
          const data = JSON.parse(
            Buffer.from(credential.response.clientDataJSON, 'base64url').toString(),
          )
          data.type = 'webauthn.get'
          credential = {
            ...credential,
            response: {
              ...credential.response,
              clientDataJSON: Buffer.from(JSON.stringify(data)).toString('base64url'),
            },
          }
        }
        const res = await addPasskey(app, alice.access_token, { credential })
        assertProblem(res, 400, 'invalid_passkey', what)
        const row = await challengeRow(app, options.challenge)
        if (!what.includes('never issued')) assert.notEqual(row?.used_at, null, `${what}: spent`)
      }
      assert.deepEqual(await factorRows(app, alice.user.id), [])
      assert.equal((await me(app, alice.access_token)).json().mfa_enabled, false)
    })

    test('one challenge registers once; another user’s, an expired one or a login’s is refused', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      const origin = originOf(app)

      const aliceAal2 = await aal2Token(app, await userOf(app, alice.user.id))
      const options = (await passkeyOptions(app, aliceAal2)).json()
      const first = softwareAuthenticator().createCredential(options, { origin })
      const second = softwareAuthenticator().createCredential(options, { origin })
      assert.equal((await addPasskey(app, aliceAal2, { credential: first })).statusCode, 201)
      assertProblem(
        await addPasskey(app, aliceAal2, { credential: second }),
        400,
        'invalid_passkey',
        'the same challenge again',
      )

      const bobs = (await passkeyOptions(app, bob.access_token)).json()
      const stolen = softwareAuthenticator().createCredential(bobs, { origin })
      assertProblem(
        await addPasskey(app, aliceAal2, { credential: stolen }),
        400,
        'invalid_passkey',
        'bob’s challenge used by alice',
      )
      assert.equal((await challengeRow(app, bobs.challenge))?.used_at, null, 'bob’s stays live')
      assert.equal(
        (await addPasskey(app, bob.access_token, { credential: stolen })).statusCode,
        201,
        'bob can still use it',
      )

      const late = (await passkeyOptions(app, aliceAal2)).json()
      clock.advance(301)
      const expired = softwareAuthenticator().createCredential(late, { origin })
      assertProblem(
        await addPasskey(app, aliceAal2, { credential: expired }),
        400,
        'invalid_passkey',
        'expired',
      )

      const login = (
        await app.inject({ method: 'POST', url: '/session/passkey/options', payload: {} })
      ).json()
      const wrongPurpose = softwareAuthenticator().createCredential(
        { ...late, challenge: login.challenge },
        { origin },
      )
      assertProblem(
        await addPasskey(app, aliceAal2, { credential: wrongPurpose }),
        400,
        'invalid_passkey',
        'a challenge for a login',
      )
      assert.equal((await factorRows(app, alice.user.id)).length, 1)
    })

    test('two credentials for one challenge sent at once: exactly one registers', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const token = await aal2Token(app, await userOf(app, alice.user.id))
      const options = (await passkeyOptions(app, token)).json()
      const credentials = [1, 2, 3].map(() =>
        softwareAuthenticator().createCredential(options, { origin: originOf(app) }),
      )
      const answers = await Promise.all(
        credentials.map((credential) => addPasskey(app, token, { credential })),
      )
      assert.deepEqual(answers.map((r) => r.statusCode).sort(), [201, 400, 400])
      assert.equal((await factorRows(app, alice.user.id)).length, 1)
    })

    test('a credential registered already: 409 passkey_registered, for its user or another', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      const origin = originOf(app)
      const authenticator = softwareAuthenticator()
      const { credentialId } = await enrolPasskey(app, alice.access_token, authenticator)
      const aal2 = await aal2Token(app, await userOf(app, alice.user.id))
      for (const [who, token] of [
        ['alice', aal2],
        ['bob', bob.access_token],
      ] as const) {
        const options = (await passkeyOptions(app, token)).json()
        // An authenticator that ignores excludeCredentials and sends the same credential again.
        const again = authenticator.createCredential(options, { origin, credentialId })
        assertProblem(
          await addPasskey(app, token, { credential: again }),
          409,
          'passkey_registered',
          who,
        )
      }
      assert.equal((await factorRows(app, alice.user.id)).length, 1)
      assert.deepEqual(await factorRows(app, bob.user.id), [])
    })

    test('bad bodies: 422 validation_failed and nothing stored', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const options = (await passkeyOptions(app, alice.access_token)).json()
      const credential = softwareAuthenticator().createCredential(options, {
        origin: originOf(app),
      })
      const bodies: Record<string, unknown> = {
        'no credential': { name: 'Key' },
        'a credential that is a string': { credential: 'abc' },
        'an unknown property': { credential, extra: 1 },
        'an empty name': { credential, name: '' },
        'a name of spaces': { credential, name: '   ' },
        'a name with a control character': { credential, name: 'Key\u0007' },
        'a name of 65 characters': { credential, name: 'k'.repeat(65) },
        'a credential id not base64url': { credential: { ...credential, id: 'a b', rawId: 'a b' } },
        'a credential of another type': { credential: { ...credential, type: 'password' } },
        'no attestationObject': {
          credential: {
            ...credential,
            response: { clientDataJSON: credential.response.clientDataJSON },
          },
        },
        'an oversized attestationObject': {
          credential: {
            ...credential,
            response: { ...credential.response, attestationObject: 'A'.repeat(8193) },
          },
        },
      }
      for (const [what, body] of Object.entries(bodies)) {
        assertProblem(
          await addPasskey(app, alice.access_token, body),
          422,
          'validation_failed',
          what,
        )
      }
      assertProblem(
        await app.inject({
          method: 'POST',
          url: '/user/me/factors/passkey/options',
          headers: { authorization: `Bearer ${alice.access_token}` },
          payload: { extra: true },
        }),
        422,
        'validation_failed',
        'options with a body',
      )
      assert.deepEqual(await factorRows(app, alice.user.id), [])
      assert.equal((await challengeRow(app, options.challenge))?.used_at, null, 'not spent')
      // The same credential, well formed, still registers: nothing was used up.
      const ok = await addPasskey(app, alice.access_token, { credential, name: 'Laptop' })
      assert.equal(ok.statusCode, 201, ok.body)
      assert.equal(ok.json().name, 'Laptop')
    })

    test('a name of 64 characters and any script is kept as given', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const name = `Ключ ${'й'.repeat(59)}`
      assert.equal([...name].length, 64)
      const { id } = await enrolPasskey(app, alice.access_token, softwareAuthenticator(), { name })
      const [row] = await factorRows(app, alice.user.id)
      assert.equal(row?.id, id)
      assert.equal(row?.name, name)
    })

    test('step-up: with an active factor, an aal1 token gets 403 step_up_required on both routes; aal2 passes', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      // The first factor needs no step-up: there is nothing to step up with.
      await enrolPasskey(app, alice.access_token, softwareAuthenticator())
      const user = await userOf(app, alice.user.id)
      const aal1 = await sessionToken(app, user)
      const aal2 = await aal2Token(app, user)
      assertProblem(await passkeyOptions(app, aal1), 403, 'step_up_required', 'options')
      assertProblem(
        await passkeyOptions(app, alice.access_token),
        403,
        'step_up_required',
        'options with the token of the password login',
      )
      const options = (await passkeyOptions(app, aal2)).json()
      const credential = softwareAuthenticator().createCredential(options, {
        origin: originOf(app),
      })
      assertProblem(
        await addPasskey(app, aal1, { credential }),
        403,
        'step_up_required',
        'register',
      )
      assert.equal((await factorRows(app, alice.user.id)).length, 1)
      assert.equal((await challengeRow(app, options.challenge))?.used_at, null, 'not spent')
      assert.equal((await addPasskey(app, aal2, { credential })).statusCode, 201)
    })

    test('without an access token: 401 invalid_token on both routes', async (t) => {
      const { app } = await makeApp(t, { dialect })
      for (const url of ['/user/me/factors/passkey/options', '/user/me/factors/passkey']) {
        assertProblem(
          await app.inject({ method: 'POST', url, payload: {} }),
          401,
          'invalid_token',
          url,
        )
      }
    })

    test('the notice factor_added goes to a verified address only, in the client’s language', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const mail = mailDir(config.mail.dir)
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      await setAddress(app, alice.user.id, 'alice@example.com', false)
      await setAddress(app, bob.user.id, 'bob@example.com', true)
      await enrolPasskey(app, alice.access_token, softwareAuthenticator())
      const options = (await passkeyOptions(app, bob.access_token)).json()
      const credential = softwareAuthenticator().createCredential(options, {
        origin: originOf(app),
      })
      const res = await addPasskey(
        app,
        bob.access_token,
        { credential },
        { 'accept-language': 'ru' },
      )
      assert.equal(res.statusCode, 201, res.body)
      const notice = await mail.next('bob@example.com')
      assert.equal(notice.subject, 'Добавлен второй фактор')
      assert.match(notice.text, /bob/)
      assert.ok(!notice.raw.includes(credential.id), 'no credential id in the mail')
      assert.deepEqual(
        (await mail.all()).map((m) => m.to),
        ['bob@example.com'],
      )
    })
  })
}

async function userOf(app: App, id: string) {
  const user = await userRepository(app.store.db).findById(id)
  assert.ok(user)
  return user
}
