import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, type TestContext, test } from 'node:test'
import Provider, { errors } from 'oidc-provider'
import { type Store, toDate } from '../../src/db/schema.ts'
import { openStore } from '../../src/db/store.ts'
import { oidcAdapter } from '../../src/oidc/adapter.ts'
import { oidcRepository } from '../../src/oidc/repository.ts'
import { dialects, migratedDatabaseUrl, TestClock } from '../support/harness.ts'

async function setup(t: TestContext, dialect: 'sqlite' | 'postgres') {
  const store: Store = openStore(await migratedDatabaseUrl(t, dialect))
  t.after(() => store.destroy())
  const clock = new TestClock()
  clock.freeze(new Date('2026-12-07T12:00:00.000Z'))
  const adapter = oidcAdapter({ db: store.db, clock })
  return { store, clock, adapter }
}

const rowCount = async (store: Store) =>
  (await store.db.selectFrom('oidc_payloads').select('id').execute()).length

/** How a bearer value's row is keyed: its SHA-256, never the value (adapter.ts HASHED). */
const stored = (value: string) => createHash('sha256').update(value).digest('base64url')

for (const dialect of dialects()) {
  describe(`the OpenID provider's store (${dialect})`, () => {
    test('upsert then find gives the JSON payload back', async (t) => {
      const { adapter } = await setup(t, dialect)
      const payload = { jti: 'a1', kind: 'AccessToken', accountId: 'ивaн', scope: 'openid' }
      await adapter('AccessToken').upsert('a1', payload, 60)
      assert.deepEqual(await adapter('AccessToken').find('a1'), payload)
      // Models are separate namespaces.
      assert.equal(await adapter('RefreshToken').find('a1'), undefined)
      assert.equal(await adapter('AccessToken').find('nope'), undefined)
    })

    test('upsert again replaces the payload and the expiry', async (t) => {
      const { adapter, clock } = await setup(t, dialect)
      const grants = adapter('Grant')
      await grants.upsert('g1', { jti: 'g1', kind: 'Grant', scope: 'openid' }, 10)
      await grants.upsert('g1', { jti: 'g1', kind: 'Grant', scope: 'openid email' }, 100)
      clock.advance(50)
      assert.deepEqual(await grants.find('g1'), { jti: 'g1', kind: 'Grant', scope: 'openid email' })
    })

    test('a row expires by our clock; one saved without expiresIn does not', async (t) => {
      const { adapter, clock } = await setup(t, dialect)
      const codes = adapter('AuthorizationCode')
      await codes.upsert('c1', { jti: 'c1', kind: 'AuthorizationCode' }, 60)
      await codes.upsert('c2', { jti: 'c2', kind: 'AuthorizationCode' })
      clock.advance(59)
      assert.ok(await codes.find('c1'))
      clock.advance(1)
      assert.equal(await codes.find('c1'), undefined)
      assert.ok(await codes.find('c2'))
    })

    test('consume adds `consumed` in epoch seconds; a second consume keeps the first time', async (t) => {
      const { adapter, clock } = await setup(t, dialect)
      const codes = adapter('AuthorizationCode')
      await codes.upsert('c1', { jti: 'c1', kind: 'AuthorizationCode' }, 60)
      assert.equal((await codes.find('c1'))?.consumed, undefined)
      const first = Math.floor(clock.now().getTime() / 1000)
      await codes.consume('c1')
      clock.advance(10)
      await assert.rejects(codes.consume('c1'), errors.InvalidGrant)
      assert.deepEqual(await codes.find('c1'), {
        jti: 'c1',
        kind: 'AuthorizationCode',
        consumed: first,
      })
    })

    test('of two concurrent consumes exactly one wins; the other is invalid_grant', async (t) => {
      const { adapter } = await setup(t, dialect)
      const tokens = adapter('RefreshToken')
      await tokens.upsert('r1', { jti: 'r1', kind: 'RefreshToken' }, 60)
      const results = await Promise.allSettled([tokens.consume('r1'), tokens.consume('r1')])
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'])
      const lost = results.find((r) => r.status === 'rejected')
      assert.ok(lost?.reason instanceof errors.InvalidGrant)
      assert.equal(lost.reason.error, 'invalid_grant')
      await assert.rejects(tokens.consume('missing'), errors.InvalidGrant)
    })

    test('a lost consume revokes what its grant issued, and the grant', async (t) => {
      const { adapter } = await setup(t, dialect)
      await adapter('Grant').upsert('g9', { jti: 'g9', kind: 'Grant' }, 600)
      const codes = adapter('AuthorizationCode')
      await codes.upsert('c9', { jti: 'c9', kind: 'AuthorizationCode', grantId: 'g9' }, 60)
      await adapter('AccessToken').upsert(
        'a9',
        { jti: 'a9', kind: 'AccessToken', grantId: 'g9' },
        60,
      )
      await adapter('AccessToken').upsert(
        'a8',
        { jti: 'a8', kind: 'AccessToken', grantId: 'g8' },
        60,
      )
      await codes.consume('c9')
      assert.ok(await adapter('AccessToken').find('a9'), 'the first consume revokes nothing')
      await assert.rejects(codes.consume('c9'), errors.InvalidGrant)
      assert.equal(await adapter('AccessToken').find('a9'), undefined)
      assert.equal(await adapter('Grant').find('g9'), undefined)
      assert.ok(await adapter('AccessToken').find('a8'), "another grant's token stays")
    })

    test('bearer values are stored as their SHA-256 only; a Session keeps its id', async (t) => {
      const { adapter, store } = await setup(t, dialect)
      await adapter('RefreshToken').upsert(
        'secret-r',
        { jti: 'secret-r', kind: 'RefreshToken' },
        60,
      )
      await adapter('Session').upsert(
        'cookie-s',
        { jti: 'cookie-s', kind: 'Session', uid: 'u' },
        60,
      )
      const rows = await store.db.selectFrom('oidc_payloads').select(['id', 'payload']).execute()
      assert.ok(!JSON.stringify(rows).includes('secret-r'))
      assert.deepEqual(rows.map((r) => r.id).sort(), ['cookie-s', stored('secret-r')].sort())
      assert.deepEqual(await adapter('RefreshToken').find('secret-r'), {
        jti: 'secret-r',
        kind: 'RefreshToken',
      })
    })

    test('a payload saved again with `consumed` stays consumed', async (t) => {
      const { adapter } = await setup(t, dialect)
      const devices = adapter('DeviceCode')
      await devices.upsert('d1', { jti: 'd1', kind: 'DeviceCode', userCode: 'ABCD' }, 60)
      await devices.consume('d1')
      const consumed = (await devices.find('d1'))?.consumed
      assert.equal(typeof consumed, 'number')
      await devices.upsert('d1', { jti: 'd1', kind: 'DeviceCode', userCode: 'ABCD', consumed }, 60)
      assert.equal((await devices.findByUserCode('ABCD'))?.consumed, consumed)
    })

    test('destroy removes the row', async (t) => {
      const { adapter, store } = await setup(t, dialect)
      const sessions = adapter('Session')
      await sessions.upsert('s1', { jti: 's1', kind: 'Session', uid: 'u1' }, 60)
      await sessions.destroy('s1')
      assert.equal(await sessions.find('s1'), undefined)
      assert.equal(await rowCount(store), 0)
    })

    test("revokeByGrantId removes that grant's rows of every model, and only those", async (t) => {
      const { adapter, store } = await setup(t, dialect)
      await adapter('AuthorizationCode').upsert('c1', { jti: 'c1', grantId: 'g1' }, 60)
      await adapter('AccessToken').upsert('a1', { jti: 'a1', grantId: 'g1' }, 60)
      await adapter('RefreshToken').upsert('r1', { jti: 'r1', grantId: 'g1' }, 60)
      await adapter('AccessToken').upsert('a2', { jti: 'a2', grantId: 'g2' }, 60)
      await adapter('Grant').upsert('g1', { jti: 'g1', kind: 'Grant' }, 60)
      await adapter('AccessToken').revokeByGrantId('g1')
      const left = await store.db
        .selectFrom('oidc_payloads')
        .select(['model', 'id'])
        .orderBy('model')
        .orderBy('id')
        .execute()
      // The Grant itself is the caller's to destroy (lib/helpers/revoke.js).
      assert.deepEqual(
        left.map((r) => ({ ...r })),
        [
          { model: 'AccessToken', id: stored('a2') },
          { model: 'Grant', id: 'g1' },
        ],
      )
    })

    test('findByUid finds a live Session by its uid', async (t) => {
      const { adapter, clock } = await setup(t, dialect)
      const sessions = adapter('Session')
      const payload = { jti: 's1', kind: 'Session', uid: 'u1', accountId: 'x' }
      await sessions.upsert('s1', payload, 60)
      assert.deepEqual(await sessions.findByUid('u1'), payload)
      assert.equal(await sessions.findByUid('u2'), undefined)
      assert.equal(await adapter('Interaction').findByUid('u1'), undefined)
      clock.advance(60)
      assert.equal(await sessions.findByUid('u1'), undefined)
    })

    test('prune deletes expired rows only, at most `limit` at a time', async (t) => {
      const { adapter, clock, store } = await setup(t, dialect)
      for (const id of ['e1', 'e2', 'e3']) await adapter('AccessToken').upsert(id, { jti: id }, 10)
      await adapter('AccessToken').upsert('live', { jti: 'live' }, 100)
      await adapter('Grant').upsert('forever', { jti: 'forever' })
      clock.advance(10)
      const repository = oidcRepository(store.db)
      assert.equal(await repository.prune(clock.now(), 2), 2)
      assert.equal(await repository.prune(clock.now(), 2), 1)
      assert.equal(await repository.prune(clock.now(), 2), 0)
      const left = await store.db.selectFrom('oidc_payloads').select('id').orderBy('id').execute()
      assert.deepEqual(left.map((r) => r.id).sort(), ['forever', stored('live')].sort())
    })

    test('oidc-provider issues a client_credentials token into oidc_payloads and introspects it', async (t) => {
      const { adapter, store } = await setup(t, dialect)
      let handler: ReturnType<Provider['callback']> | undefined
      const server = createServer((req, res) => handler?.(req, res))
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      t.after(() => new Promise((done) => server.close(done)))
      const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const signing = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })
      const provider = new Provider(issuer, {
        adapter,
        jwks: { keys: [{ ...signing, alg: 'EdDSA', use: 'sig' }] },
        // The service's default (provider.ts); the library's is RS256.
        clientDefaults: { id_token_signed_response_alg: 'EdDSA' },
        ttl: { ClientCredentials: 600 },
        clients: [
          {
            client_id: 'svc',
            client_secret: 'a-secret-long-enough-for-a-test',
            grant_types: ['client_credentials'],
            redirect_uris: [],
            response_types: [],
          },
        ],
        features: {
          clientCredentials: { enabled: true },
          introspection: { enabled: true, allowedPolicy: () => true },
          devInteractions: { enabled: false },
        },
      })
      handler = provider.callback()
      const basic = `Basic ${Buffer.from('svc:a-secret-long-enough-for-a-test').toString('base64')}`
      const post = (path: string, form: Record<string, string>) =>
        fetch(`${issuer}${path}`, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form),
        })

      const token = await post('/token', { grant_type: 'client_credentials' })
      assert.equal(token.status, 200, await token.clone().text())
      const { access_token, token_type } = (await token.json()) as Record<string, string>
      assert.equal(token_type, 'Bearer')
      assert.ok(access_token)

      const rows = await store.db
        .selectFrom('oidc_payloads')
        .select(['model', 'id', 'expires_at'])
        .where('model', '=', 'ClientCredentials')
        .execute()
      // Its expiry counts from our (frozen) clock, not from Date.now().
      assert.deepEqual(
        rows.map((r) => ({ ...r, expires_at: toDate(r.expires_at as string).toISOString() })),
        [
          {
            model: 'ClientCredentials',
            id: stored(String(access_token)),
            expires_at: '2026-12-07T12:10:00.000Z',
          },
        ],
      )

      const introspection = await post('/token/introspection', { token: access_token as string })
      assert.equal(introspection.status, 200)
      const body = (await introspection.json()) as Record<string, unknown>
      assert.equal(body.active, true)
      assert.equal(body.client_id, 'svc')

      // Read from our table: without the row the token is unknown.
      await store.db.deleteFrom('oidc_payloads').execute()
      const gone = await post('/token/introspection', { token: access_token as string })
      assert.deepEqual(await gone.json(), { active: false })
    })
  })
}
