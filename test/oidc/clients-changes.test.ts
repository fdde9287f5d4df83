// The OpenID clients' admin API, after registering: PATCH, secret rotation, DELETE (with the
// client's grants, tokens and consents), and the events they leave, none holding a secret.
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { describe, type TestContext, test } from 'node:test'
import type { App } from '../../src/app.ts'
import { clientsRepository, secretMatches } from '../../src/oidc/clients/repository.ts'
import {
  assertNoSecretIn,
  assertNoSecretKeys,
  eventsOf,
  fanOutPayloads,
  holdFanOut,
  trail,
} from '../support/events.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { bearer, signUp, signUpAdmin } from '../support/requests.ts'

const publicJwk = () => ({
  ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }),
  use: 'sig',
})

/** A row of the provider's store belonging to `clientId` (a grant or a token). */
async function payloadRow(
  app: App,
  model: string,
  id: string,
  clientId: string,
  accountId: string,
) {
  await app.store.db
    .insertInto('oidc_payloads')
    .values({
      model,
      id,
      payload: JSON.stringify({ jti: id, clientId, accountId }),
      grant_id: `grant-${clientId}`,
      uid: null,
      user_code: null,
      expires_at: null,
      consumed_at: null,
      account_id: accountId,
      client_id: clientId,
    })
    .execute()
}

async function consent(app: App, userId: string, clientId: string) {
  const at = new Date().toISOString()
  await app.store.db
    .insertInto('oauth_consents')
    .values({
      user_id: userId,
      client_id: clientId,
      scopes: 'openid',
      granted_at: at,
      updated_at: at,
    })
    .execute()
}

for (const dialect of dialects()) {
  describe(`the OpenID clients admin API: changes (${dialect})`, () => {
    async function setup(t: TestContext) {
      const harness = await makeApp(t, { dialect })
      const { app } = harness
      await holdFanOut(app)
      const admin = await signUpAdmin(app, 'root')
      const call = (method: string, url: string, payload?: unknown) =>
        app.inject({
          method: method as 'GET',
          url,
          headers: bearer(admin.access_token),
          ...(payload === undefined ? {} : { payload: payload as object }),
        })
      const create = async (payload: Record<string, unknown>) => {
        const res = await call('POST', '/oauth2/clients', payload)
        assert.equal(res.statusCode, 201, res.body)
        return res.json() as { client_id: string; client_secret?: string } & Record<string, unknown>
      }
      return { ...harness, admin, call, create }
    }

    test('PATCH changes what it names, checked by the rules of a new client; the secret stays', async (t) => {
      const { app, call, create, clock } = await setup(t)
      const made = await create({
        client_name: 'Wiki',
        redirect_uris: ['https://wiki.example/cb'],
        grant_types: ['client_credentials'],
      })
      clock.advance(5)
      const res = await call('PATCH', `/oauth2/clients/${made.client_id}`, {
        client_name: 'Team wiki',
        redirect_uris: ['https://wiki.example/new', 'http://127.0.0.1:9000/cb'],
        post_logout_redirect_uris: ['https://wiki.example/bye'],
        scope: 'openid offline_access',
        first_party: true,
        id_token_signed_response_alg: 'RS256',
      })
      assert.equal(res.statusCode, 200, res.body)
      const body = res.json()
      assert.equal(body.client_secret, undefined)
      assert.equal(body.client_name, 'Team wiki')
      assert.deepEqual(body.redirect_uris, ['https://wiki.example/new', 'http://127.0.0.1:9000/cb'])
      assert.deepEqual(body.post_logout_redirect_uris, ['https://wiki.example/bye'])
      assert.equal(body.scope, 'openid offline_access')
      assert.equal(body.first_party, true)
      assert.equal(body.id_token_signed_response_alg, 'RS256')
      assert.deepEqual(body.grant_types, [
        'authorization_code',
        'refresh_token',
        'client_credentials',
      ])
      assert.equal(body.created_at, made.created_at)
      assert.ok(Date.parse(body.updated_at) >= Date.parse(String(made.updated_at)) + 5000)
      assert.deepEqual((await call('GET', `/oauth2/clients/${made.client_id}`)).json(), body)
      const stored = await clientsRepository(app.store.db).find(made.client_id)
      assert.equal(stored?.name, 'Team wiki')
      assert.equal(stored?.metadata.client_name, 'Team wiki')
      assert.equal(stored?.firstParty, true)
      assert.ok(secretMatches(stored?.secretHash ?? '', made.client_secret ?? ''))

      // Without redirect URIs it is a back-end service only: no code flow any more.
      const machine = await call('PATCH', `/oauth2/clients/${made.client_id}`, {
        redirect_uris: [],
      })
      assert.equal(machine.statusCode, 200, machine.body)
      assert.deepEqual(machine.json().grant_types, ['client_credentials'])
      const after = await clientsRepository(app.store.db).find(made.client_id)
      assert.deepEqual(after?.metadata.response_types, [])
      // An empty PATCH changes nothing but is no error.
      const same = await call('PATCH', `/oauth2/clients/${made.client_id}`, {})
      assert.equal(same.statusCode, 200)
      assert.deepEqual(same.json().redirect_uris, [])
    })

    test('a refused PATCH changes nothing; the kind of authentication cannot be changed', async (t) => {
      const { app, call, create } = await setup(t)
      const web = await create({ client_name: 'Web', redirect_uris: ['https://web.example/cb'] })
      const jwt = await create({
        client_name: 'Jwt',
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [publicJwk()] },
      })
      const rows = () =>
        app.store.db.selectFrom('oauth_clients').selectAll().orderBy('client_id').execute()
      const before = await rows()
      const cases: Array<[string, Record<string, unknown>, string, string]> = [
        [
          web.client_id,
          { redirect_uris: ['http://web.example/cb'] },
          'redirect_uris.0',
          'invalid_value',
        ],
        [
          web.client_id,
          { redirect_uris: ['https://web.example/cb#top'] },
          'redirect_uris.0',
          'invalid_format',
        ],
        [web.client_id, { redirect_uris: [] }, 'redirect_uris', 'required'],
        [web.client_id, { scope: 'openid everything' }, 'scope', 'invalid_value'],
        [web.client_id, { client_name: '' }, 'client_name', 'too_short'],
        [
          web.client_id,
          { id_token_signed_response_alg: 'none' },
          'id_token_signed_response_alg',
          'invalid_value',
        ],
        [web.client_id, { jwks: { keys: [publicJwk()] } }, 'jwks', 'invalid_value'],
        [
          web.client_id,
          { token_endpoint_auth_method: 'none' },
          'token_endpoint_auth_method',
          'unknown_property',
        ],
        [web.client_id, { grant_types: ['client_credentials'] }, 'grant_types', 'unknown_property'],
        [
          jwt.client_id,
          { jwks: { keys: [{ ...publicJwk(), d: 'AAAA' }] } },
          'jwks.keys.0',
          'invalid_value',
        ],
      ]
      for (const [id, payload, field, code] of cases) {
        const what = JSON.stringify(payload)
        const problem = assertProblem(
          await call('PATCH', `/oauth2/clients/${id}`, payload),
          422,
          'validation_failed',
          what,
        )
        const named = problem?.errors.map(
          (e: { field: string; code: string }) => `${e.field} ${e.code}`,
        )
        assert.ok(named.includes(`${field} ${code}`), `${what}: ${JSON.stringify(problem?.errors)}`)
      }
      assert.deepEqual(await rows(), before)

      // A private_key_jwt client's keys can be replaced (a key rotation of its own).
      const next = publicJwk()
      const replaced = await call('PATCH', `/oauth2/clients/${jwt.client_id}`, {
        jwks: { keys: [next] },
      })
      assert.equal(replaced.statusCode, 200, replaced.body)
      assert.deepEqual(replaced.json().jwks, { keys: [next] })
      assert.equal(replaced.json().token_endpoint_auth_method, 'private_key_jwt')
    })

    test('rotating the secret: shown once; the old one stops matching at once, the new one matches', async (t) => {
      const { app, call, create, logs } = await setup(t)
      const made = await create({
        client_name: 'Svc',
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'client_secret_post',
      })
      const old = made.client_secret ?? ''
      const res = await call('POST', `/oauth2/clients/${made.client_id}/secret`)
      assert.equal(res.statusCode, 200, res.body)
      const fresh = res.json().client_secret
      assert.match(fresh, /^[A-Za-z0-9_-]{43}$/)
      assert.notEqual(fresh, old)
      assert.equal(res.json().client_id, made.client_id)
      assert.equal(res.json().token_endpoint_auth_method, 'client_secret_post')
      const stored = await clientsRepository(app.store.db).find(made.client_id)
      assert.ok(stored?.secretHash)
      assert.equal(secretMatches(stored.secretHash, old), false)
      assert.equal(secretMatches(stored.secretHash, fresh), true)
      const again = await call('GET', `/oauth2/clients/${made.client_id}`)
      assert.equal(again.json().client_secret, undefined)
      assert.ok(!again.body.includes(fresh))
      assert.ok(!logs.some((line) => line.includes(fresh) || line.includes(old)))

      // A private_key_jwt client has no secret to rotate.
      const jwt = await create({
        client_name: 'Jwt',
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [publicJwk()] },
      })
      const refused = assertProblem(
        await call('POST', `/oauth2/clients/${jwt.client_id}/secret`),
        422,
        'validation_failed',
      )
      assert.equal(refused?.errors[0].field, 'token_endpoint_auth_method')
      assert.equal((await clientsRepository(app.store.db).find(jwt.client_id))?.secretHash, null)
    })

    test('DELETE → 204: the client, its oidc_payloads rows and its consents go; another client keeps its own', async (t) => {
      const { app, call, create } = await setup(t)
      const alice = await signUp(app, 'alice')
      const gone = await create({ client_name: 'Gone', redirect_uris: ['https://gone.example/cb'] })
      const kept = await create({ client_name: 'Kept', redirect_uris: ['https://kept.example/cb'] })
      for (const [client, prefix] of [
        [gone.client_id, 'g'],
        [kept.client_id, 'k'],
      ] as const) {
        await payloadRow(app, 'Grant', `${prefix}-grant`, client, alice.user.id)
        await payloadRow(app, 'AccessToken', `${prefix}-at`, client, alice.user.id)
        await payloadRow(app, 'RefreshToken', `${prefix}-rt`, client, alice.user.id)
        await consent(app, alice.user.id, client)
      }
      const res = await call('DELETE', `/oauth2/clients/${gone.client_id}`)
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(res.body, '')
      const db = app.store.db
      assert.equal(await clientsRepository(db).find(gone.client_id), undefined)
      const payloads = await db
        .selectFrom('oidc_payloads')
        .select(['id', 'client_id'])
        .orderBy('id')
        .execute()
      assert.deepEqual(
        payloads.map((row) => row.id),
        ['k-at', 'k-grant', 'k-rt'],
      )
      const consents = await db.selectFrom('oauth_consents').select('client_id').execute()
      assert.deepEqual(
        consents.map((row) => row.client_id),
        [kept.client_id],
      )
      assert.ok(await clientsRepository(db).find(kept.client_id))
      assertProblem(await call('GET', `/oauth2/clients/${gone.client_id}`), 404, 'not_found')
      assertProblem(await call('DELETE', `/oauth2/clients/${gone.client_id}`), 404, 'not_found')
      assert.deepEqual(
        (await call('GET', '/oauth2/clients'))
          .json()
          .items.map((c: { client_id: string }) => c.client_id),
        [kept.client_id],
      )
    })

    test('events: oauth.client_added and oauth.client_removed with the admin as actor; no secret in events, outbox or logs', async (t) => {
      const { app, admin, call, create, logs } = await setup(t)
      const confidential = await create({
        client_name: 'Wiki',
        redirect_uris: ['https://wiki.example/cb'],
        first_party: true,
      })
      const service = await create({ client_name: 'Svc', grant_types: ['client_credentials'] })
      const rotated = (await call('POST', `/oauth2/clients/${service.client_id}/secret`)).json()
      await call('PATCH', `/oauth2/clients/${service.client_id}`, { client_name: 'Service' })
      assert.equal((await call('DELETE', `/oauth2/clients/${service.client_id}`)).statusCode, 204)
      // A refused one records nothing.
      await call('POST', '/oauth2/clients', {
        client_name: 'Bad',
        redirect_uris: ['http://bad.example/'],
      })

      const added = await eventsOf(app, 'oauth.client_added')
      assert.equal(added.length, 2)
      const [first, second] = added
      assert.deepEqual(first?.actor, { type: 'admin', id: admin.user.id })
      assert.equal(first?.subject, null)
      assert.deepEqual(first?.data, {
        client_id: confidential.client_id,
        client_name: 'Wiki',
        first_party: true,
        auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
      })
      assert.equal(second?.data.client_id, service.client_id)
      const removed = await eventsOf(app, 'oauth.client_removed')
      assert.equal(removed.length, 1)
      assert.deepEqual(removed[0]?.actor, { type: 'admin', id: admin.user.id })
      assert.deepEqual(removed[0]?.data, { client_id: service.client_id, client_name: 'Service' })
      assert.equal(typeof removed[0]?.address, 'string')
      // Each is in the outbox too, on its way to webhooks and NATS.
      const outbox = await fanOutPayloads(app)
      for (const event of [...added, ...removed]) {
        assert.ok(
          outbox.some((payload) => payload.includes(event.id)),
          event.type,
        )
      }

      const secrets = [
        confidential.client_secret ?? '',
        service.client_secret ?? '',
        rotated.client_secret,
      ]
      assert.equal(secrets.filter(Boolean).length, 3)
      const events = await trail(app)
      assertNoSecretKeys(events)
      assertNoSecretIn(
        events.map((e) => JSON.stringify(e)),
        secrets,
        'the events',
      )
      assertNoSecretIn(outbox, secrets, 'the outbox')
      assertNoSecretIn(logs, secrets, 'the logs')
      // Nor their hashes.
      const hashes = (
        await app.store.db.selectFrom('oauth_clients').select('secret_hash').execute()
      ).map((row) => String(row.secret_hash))
      assertNoSecretIn([...events.map((e) => JSON.stringify(e)), ...outbox], hashes, 'events')
    })
  })
}
