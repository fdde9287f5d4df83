// The OpenID clients' admin API, registering: the client object, the secret shown once and kept
// only as its SHA-256, the rules (each refusal changes nothing), and who may call it.
import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { describe, type TestContext, test } from 'node:test'
import type { App } from '../../src/app.ts'
import { clientsRepository, hashSecret, secretMatches } from '../../src/oidc/clients/repository.ts'
import { holdFanOut } from '../support/events.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { bearer, signUp, signUpAdmin } from '../support/requests.ts'

const CLIENT_FIELDS = [
  'client_id',
  'client_name',
  'created_at',
  'first_party',
  'grant_types',
  'id_token_signed_response_alg',
  'post_logout_redirect_uris',
  'redirect_uris',
  'scope',
  'token_endpoint_auth_method',
  'updated_at',
]
const CLIENT_ID = /^[A-Za-z0-9_-]{22}$/
const SECRET = /^[A-Za-z0-9_-]{43}$/

/** A public signing JWK (and, for the refusals, its private form). */
function keyPair(type: 'ed25519' | 'rsa') {
  const { publicKey, privateKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ed25519')
  return {
    pub: { ...publicKey.export({ format: 'jwk' }), kid: `${type}-1`, use: 'sig' },
    priv: privateKey.export({ format: 'jwk' }),
  }
}

/** What a refused request must leave as it was. */
async function snapshot(app: App) {
  const db = app.store.db
  return {
    clients: await db.selectFrom('oauth_clients').selectAll().orderBy('client_id').execute(),
    events: (await db.selectFrom('events').select('id').execute()).length,
    outbox: (await db.selectFrom('outbox').select('id').execute()).length,
  }
}

for (const dialect of dialects()) {
  describe(`the OpenID clients admin API: registering (${dialect})`, () => {
    async function setup(t: TestContext) {
      const harness = await makeApp(t, { dialect })
      const { app } = harness
      // The events' outbox rows stay where the snapshots count them.
      await holdFanOut(app)
      const admin = await signUpAdmin(app, 'root')
      const call = (method: string, url: string, payload?: unknown, token = admin.access_token) =>
        app.inject({
          method: method as 'GET',
          url,
          headers: bearer(token),
          ...(payload === undefined ? {} : { payload: payload as object }),
        })
      return { ...harness, admin, call }
    }

    test('POST → 201, Location, client_secret once; only its SHA-256 is stored; GETs never show it', async (t) => {
      const { app, call, logs } = await setup(t)
      const res = await call('POST', '/oauth2/clients', {
        client_name: 'Team wiki',
        redirect_uris: ['https://wiki.example.com/cb', 'http://127.0.0.1:8080/cb'],
        post_logout_redirect_uris: ['https://wiki.example.com/'],
        scope: 'openid email offline_access',
        first_party: true,
      })
      assert.equal(res.statusCode, 201, res.body)
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), [...CLIENT_FIELDS, 'client_secret'].sort())
      assert.match(body.client_id, CLIENT_ID)
      assert.match(body.client_secret, SECRET)
      assert.equal(Buffer.from(body.client_secret, 'base64url').length, 32)
      assert.equal(res.headers.location, `/oauth2/clients/${body.client_id}`)
      assert.deepEqual(
        { ...body, client_id: 'x', client_secret: 'x', created_at: 'x', updated_at: 'x' },
        {
          client_id: 'x',
          client_secret: 'x',
          client_name: 'Team wiki',
          redirect_uris: ['https://wiki.example.com/cb', 'http://127.0.0.1:8080/cb'],
          post_logout_redirect_uris: ['https://wiki.example.com/'],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid email offline_access',
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'EdDSA',
          first_party: true,
          created_at: 'x',
          updated_at: 'x',
        },
      )

      const row = await app.store.db
        .selectFrom('oauth_clients')
        .selectAll()
        .executeTakeFirstOrThrow()
      assert.equal(row.client_id, body.client_id)
      assert.equal(row.secret_hash, hashSecret(body.client_secret))
      assert.equal(
        row.secret_hash,
        createHash('sha256').update(body.client_secret).digest('base64url'),
      )
      assert.equal(Number(row.first_party), 1)
      for (const value of Object.values(row)) {
        assert.ok(!String(value).includes(body.client_secret), 'the secret is not stored')
      }
      // The provider's view: oidc-provider metadata, no secret in it.
      const stored = await clientsRepository(app.store.db).find(body.client_id)
      assert.ok(stored)
      assert.equal(stored.firstParty, true)
      assert.equal(stored.name, 'Team wiki')
      assert.ok(secretMatches(stored.secretHash ?? '', body.client_secret))
      assert.deepEqual(stored.metadata, {
        client_id: body.client_id,
        client_name: 'Team wiki',
        redirect_uris: ['https://wiki.example.com/cb', 'http://127.0.0.1:8080/cb'],
        post_logout_redirect_uris: ['https://wiki.example.com/'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'EdDSA',
        scope: 'openid email offline_access',
      })
      assert.equal(await clientsRepository(app.store.db).find('no-such-client'), undefined)

      const one = await call('GET', `/oauth2/clients/${body.client_id}`)
      assert.equal(one.statusCode, 200)
      const { client_secret: _secret, ...withoutSecret } = body
      assert.deepEqual(one.json(), withoutSecret)
      const list = await call('GET', '/oauth2/clients')
      assert.equal(list.statusCode, 200)
      assert.deepEqual(list.json(), { items: [withoutSecret] })
      for (const answer of [one, list]) {
        assert.ok(!answer.body.includes(body.client_secret))
        assert.ok(!answer.body.includes(String(row.secret_hash)))
      }
      assert.ok(logs.length > 0)
      assert.ok(!logs.some((line) => line.includes(body.client_secret)))
    })

    test('defaults: client_secret_basic, EdDSA, scope "openid profile email", not first-party; the list is oldest first', async (t) => {
      const { call } = await setup(t)
      const a = await call('POST', '/oauth2/clients', {
        client_name: 'A',
        redirect_uris: ['https://a.example/cb'],
      })
      assert.equal(a.statusCode, 201, a.body)
      assert.equal(a.json().token_endpoint_auth_method, 'client_secret_basic')
      assert.equal(a.json().id_token_signed_response_alg, 'EdDSA')
      assert.equal(a.json().scope, 'openid profile email')
      assert.equal(a.json().first_party, false)
      const b = await call('POST', '/oauth2/clients', {
        client_name: 'B',
        redirect_uris: ['https://b.example/cb'],
        token_endpoint_auth_method: 'client_secret_post',
        id_token_signed_response_alg: 'RS256',
      })
      assert.equal(b.statusCode, 201, b.body)
      assert.match(b.json().client_secret, SECRET)
      assert.equal(b.json().id_token_signed_response_alg, 'RS256')
      assert.notEqual(a.json().client_id, b.json().client_id)
      assert.notEqual(a.json().client_secret, b.json().client_secret)
      const list = (await call('GET', '/oauth2/clients')).json()
      assert.deepEqual(
        list.items.map((c: { client_name: string }) => c.client_name),
        ['A', 'B'],
      )
    })

    test('a public client: none, no secret at all; a client_credentials-only client needs no redirect URI', async (t) => {
      const { app, call } = await setup(t)
      const spa = await call('POST', '/oauth2/clients', {
        client_name: 'SPA',
        redirect_uris: ['http://localhost:5173/cb', 'http://[::1]:5173/cb'],
        token_endpoint_auth_method: 'none',
      })
      assert.equal(spa.statusCode, 201, spa.body)
      assert.deepEqual(Object.keys(spa.json()).sort(), CLIENT_FIELDS)
      assert.equal(spa.json().token_endpoint_auth_method, 'none')
      assert.deepEqual(spa.json().grant_types, ['authorization_code', 'refresh_token'])
      const spaRow = await clientsRepository(app.store.db).find(spa.json().client_id)
      assert.equal(spaRow?.secretHash, null)
      // Rotating a secret it does not have is refused.
      const rotate = await call('POST', `/oauth2/clients/${spa.json().client_id}/secret`)
      assertProblem(rotate, 422, 'validation_failed')
      assert.equal(
        (await clientsRepository(app.store.db).find(spaRow?.clientId ?? ''))?.secretHash,
        null,
      )

      const service = await call('POST', '/oauth2/clients', {
        client_name: 'Billing',
        grant_types: ['client_credentials'],
      })
      assert.equal(service.statusCode, 201, service.body)
      assert.match(service.json().client_secret, SECRET)
      assert.deepEqual(service.json().redirect_uris, [])
      assert.deepEqual(service.json().grant_types, ['client_credentials'])
      const stored = await clientsRepository(app.store.db).find(service.json().client_id)
      assert.deepEqual(stored?.metadata.response_types, [])
      assert.deepEqual(stored?.metadata.redirect_uris, [])

      // Both: a web app that is also a back-end service.
      const both = await call('POST', '/oauth2/clients', {
        client_name: 'Both',
        redirect_uris: ['https://both.example/cb'],
        grant_types: ['client_credentials'],
      })
      assert.equal(both.statusCode, 201, both.body)
      assert.deepEqual(both.json().grant_types, [
        'authorization_code',
        'refresh_token',
        'client_credentials',
      ])
    })

    test('private_key_jwt: public keys (Ed25519, RSA) in jwks, no secret', async (t) => {
      const { app, call } = await setup(t)
      const ed = keyPair('ed25519')
      const rsa = keyPair('rsa')
      const res = await call('POST', '/oauth2/clients', {
        client_name: 'Reports',
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [ed.pub, rsa.pub] },
      })
      assert.equal(res.statusCode, 201, res.body)
      assert.deepEqual(Object.keys(res.json()).sort(), [...CLIENT_FIELDS, 'jwks'].sort())
      assert.equal(res.json().token_endpoint_auth_method, 'private_key_jwt')
      assert.deepEqual(res.json().jwks, { keys: [ed.pub, rsa.pub] })
      const stored = await clientsRepository(app.store.db).find(res.json().client_id)
      assert.equal(stored?.secretHash, null)
      assert.deepEqual(stored?.metadata.jwks, { keys: [ed.pub, rsa.pub] })
      const one = await call('GET', `/oauth2/clients/${res.json().client_id}`)
      assert.deepEqual(one.json().jwks, { keys: [ed.pub, rsa.pub] })
    })

    test('every refusal is 422 validation_failed naming the field, and changes nothing', async (t) => {
      const { app, call } = await setup(t)
      const ed = keyPair('ed25519')
      const rsa = keyPair('rsa')
      const web = { client_name: 'W', redirect_uris: ['https://w.example/cb'] }
      const jwt = { ...web, token_endpoint_auth_method: 'private_key_jwt' }
      const cases: Array<[string, Record<string, unknown>, string, string]> = [
        [
          'not a URL',
          { ...web, redirect_uris: ['not a url'] },
          'redirect_uris.0',
          'invalid_format',
        ],
        ['relative', { ...web, redirect_uris: ['/cb'] }, 'redirect_uris.0', 'invalid_format'],
        [
          'ftp',
          { ...web, redirect_uris: ['ftp://w.example/'] },
          'redirect_uris.0',
          'invalid_format',
        ],
        [
          'fragment',
          { ...web, redirect_uris: ['https://w.example/ok', 'https://w.example/cb#x'] },
          'redirect_uris.1',
          'invalid_format',
        ],
        [
          'http, not loopback',
          { ...web, redirect_uris: ['http://w.example/cb'] },
          'redirect_uris.0',
          'invalid_value',
        ],
        [
          'http to a private address',
          { ...web, redirect_uris: ['http://10.0.0.1/cb'] },
          'redirect_uris.0',
          'invalid_value',
        ],
        [
          'credentials',
          { ...web, redirect_uris: ['https://u:p@w.example/cb'] },
          'redirect_uris.0',
          'invalid_format',
        ],
        [
          'white space',
          { ...web, redirect_uris: [' https://w.example/cb'] },
          'redirect_uris.0',
          'invalid_format',
        ],
        [
          'logout URI over http',
          { ...web, post_logout_redirect_uris: ['http://w.example/'] },
          'post_logout_redirect_uris.0',
          'invalid_value',
        ],
        ['unknown scope', { ...web, scope: 'openid admin' }, 'scope', 'invalid_value'],
        ['scopes with commas', { ...web, scope: 'openid,email' }, 'scope', 'invalid_value'],
        [
          'public + client_credentials',
          { ...web, token_endpoint_auth_method: 'none', grant_types: ['client_credentials'] },
          'grant_types',
          'invalid_value',
        ],
        ['private_key_jwt without jwks', jwt, 'jwks', 'required'],
        [
          'an Ed25519 private key',
          { ...jwt, jwks: { keys: [ed.priv] } },
          'jwks.keys.0',
          'invalid_value',
        ],
        [
          'an RSA private key among public ones',
          { ...jwt, jwks: { keys: [ed.pub, rsa.priv] } },
          'jwks.keys.1',
          'invalid_value',
        ],
        [
          'a symmetric key',
          { ...jwt, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0c2VjcmV0c2VjcmV0' }] } },
          'jwks.keys.0',
          'invalid_value',
        ],
        [
          'a key that is no key',
          { ...jwt, jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }] } },
          'jwks.keys.0',
          'invalid_value',
        ],
        [
          'an encryption key',
          { ...jwt, jwks: { keys: [{ ...ed.pub, use: 'enc' }] } },
          'jwks.keys.0',
          'invalid_value',
        ],
        ['jwks for a secret client', { ...web, jwks: { keys: [ed.pub] } }, 'jwks', 'invalid_value'],
        ['an empty key set', { ...jwt, jwks: { keys: [] } }, 'jwks.keys', 'too_short'],
        [
          'HS256',
          { ...web, id_token_signed_response_alg: 'HS256' },
          'id_token_signed_response_alg',
          'invalid_value',
        ],
        [
          'client_secret_jwt',
          { ...web, token_endpoint_auth_method: 'client_secret_jwt' },
          'token_endpoint_auth_method',
          'invalid_value',
        ],
        [
          'the password grant',
          { ...web, grant_types: ['password'] },
          'grant_types.0',
          'invalid_value',
        ],
        [
          'no redirect URI, no client_credentials',
          { client_name: 'W' },
          'redirect_uris',
          'required',
        ],
        [
          'authorization_code without a redirect URI',
          { client_name: 'W', grant_types: ['client_credentials', 'authorization_code'] },
          'redirect_uris',
          'required',
        ],
        ['an empty name', { ...web, client_name: '' }, 'client_name', 'too_short'],
        ['a blank name', { ...web, client_name: '   ' }, 'client_name', 'too_short'],
        ['a long name', { ...web, client_name: 'n'.repeat(101) }, 'client_name', 'too_long'],
        [
          'a control character',
          { ...web, client_name: 'a\nb' },
          'client_name',
          'invalid_characters',
        ],
        ['no name', { redirect_uris: ['https://w.example/cb'] }, 'client_name', 'required'],
        [
          'a secret of its own',
          { ...web, client_secret: 'mine' },
          'client_secret',
          'unknown_property',
        ],
        ['first_party as text', { ...web, first_party: 'yes' }, 'first_party', 'invalid_type'],
      ]
      const before = await snapshot(app)
      for (const [what, payload, field, code] of cases) {
        const problem = assertProblem(
          await call('POST', '/oauth2/clients', payload),
          422,
          'validation_failed',
          what,
        )
        const named = problem?.errors.map(
          (e: { field: string; code: string }) => `${e.field} ${e.code}`,
        )
        assert.ok(named.includes(`${field} ${code}`), `${what}: ${JSON.stringify(problem?.errors)}`)
      }
      assert.deepEqual(await snapshot(app), before)
      assert.equal(before.clients.length, 0)
    })

    test('every broken rule of a request is named at once', async (t) => {
      const { call } = await setup(t)
      const problem = assertProblem(
        await call('POST', '/oauth2/clients', {
          client_name: 'W',
          redirect_uris: ['http://w.example/cb', 'https://w.example/#x'],
          scope: 'openid root',
          token_endpoint_auth_method: 'none',
          grant_types: ['client_credentials'],
        }),
        422,
        'validation_failed',
      )
      assert.deepEqual(
        problem?.errors.map((e: { field: string; code: string }) => [e.field, e.code]),
        [
          ['redirect_uris.0', 'invalid_value'],
          ['redirect_uris.1', 'invalid_format'],
          ['scope', 'invalid_value'],
          ['grant_types', 'invalid_value'],
        ],
      )
    })

    test('loopback redirect URIs over http and exact strings are kept as given', async (t) => {
      const { call } = await setup(t)
      const uris = [
        'http://127.0.0.1:49152/callback',
        'http://[::1]:8080/cb?x=1',
        'http://localhost/cb',
        'https://App.Example.com:8443/a/../cb?q=%7e',
      ]
      const res = await call('POST', '/oauth2/clients', {
        client_name: 'Native',
        redirect_uris: uris,
        token_endpoint_auth_method: 'none',
      })
      assert.equal(res.statusCode, 201, res.body)
      assert.deepEqual(res.json().redirect_uris, uris)
    })

    test('no token is 401 invalid_token, a user is 403 forbidden, on every route; nothing changes', async (t) => {
      const { app, call } = await setup(t)
      const made = await call('POST', '/oauth2/clients', {
        client_name: 'Kept',
        redirect_uris: ['https://k.example/cb'],
      })
      const id = made.json().client_id
      const alice = await signUp(app, 'alice')
      const before = await snapshot(app)
      const routes: Array<[string, string, unknown]> = [
        ['GET', '/oauth2/clients', undefined],
        ['POST', '/oauth2/clients', { client_name: 'X', redirect_uris: ['https://x.example/'] }],
        ['GET', `/oauth2/clients/${id}`, undefined],
        ['PATCH', `/oauth2/clients/${id}`, { client_name: 'Stolen' }],
        ['POST', `/oauth2/clients/${id}/secret`, undefined],
        ['DELETE', `/oauth2/clients/${id}`, undefined],
      ]
      for (const [method, url, payload] of routes) {
        const anonymous = await app.inject({
          method: method as 'GET',
          url,
          ...(payload === undefined ? {} : { payload: payload as object }),
        })
        assertProblem(anonymous, 401, 'invalid_token', `${method} ${url}`)
        const user = await call(method, url, payload, alice.access_token)
        assertProblem(user, 403, 'forbidden', `${method} ${url}`)
        const garbage = await call(method, url, payload, 'not.a.token')
        assertProblem(garbage, 401, 'invalid_token', `${method} ${url}`)
      }
      assert.deepEqual(await snapshot(app), before)
    })

    test('an unknown client is 404 not_found on every route', async (t) => {
      const { app, call } = await setup(t)
      const before = await snapshot(app)
      for (const id of ['nope', 'A'.repeat(22), '%E2%82%AC', 'x'.repeat(3000)]) {
        assertProblem(await call('GET', `/oauth2/clients/${id}`), 404, 'not_found', id)
        assertProblem(
          await call('PATCH', `/oauth2/clients/${id}`, { client_name: 'N' }),
          404,
          'not_found',
          id,
        )
        assertProblem(await call('POST', `/oauth2/clients/${id}/secret`), 404, 'not_found', id)
        assertProblem(await call('DELETE', `/oauth2/clients/${id}`), 404, 'not_found', id)
      }
      assert.deepEqual(await snapshot(app), before)
    })
  })
}

describe('client secrets', () => {
  test('hashSecret is SHA-256, base64url', () => {
    assert.equal(hashSecret('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0')
  })

  test('secretMatches: the secret matches its hash; anything else does not', () => {
    const secret = 'Ta2JontoTlzm_QVw5f1Ip8H8oSy9PFDeBcRV8XjvWkc'
    const stored = hashSecret(secret)
    assert.equal(secretMatches(stored, secret), true)
    for (const other of ['', `${secret} `, secret.slice(1), secret.toLowerCase(), stored]) {
      assert.equal(secretMatches(stored, other), false, other)
    }
    // A malformed stored hash (wrong length) never matches, and never throws.
    assert.equal(secretMatches('', secret), false)
    assert.equal(secretMatches(stored.slice(2), secret), false)
    assert.equal(secretMatches('not base64url!', secret), false)
  })
})
