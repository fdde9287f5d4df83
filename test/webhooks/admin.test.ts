// The webhooks admin API: the contract of each route, the secret shown once and sealed at rest,
// the URL rules, and who may call it.
import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { dialects, makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { bearer, NO_SUCH_UUID, signUp, signUpAdmin } from '../support/requests.ts'
import { causeEvent, receiver } from '../support/webhooks.ts'

const FIELDS = [
  'created_at',
  'description',
  'disabled_reason',
  'enabled',
  'id',
  'previous_secret_expires_at',
  'types',
  'updated_at',
  'url',
]
const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/
const SIGNING_KEY_SECRET = 'a long enough secret for sealing secrets at rest'

for (const dialect of dialects()) {
  describe(`the webhooks admin API (${dialect})`, () => {
    async function setup(t: TestContext, env: Record<string, string> = {}) {
      const harness = await makeApp(t, { dialect, env })
      const admin = await signUpAdmin(harness.app, 'root')
      // The sign-up's own events go out before any endpoint exists.
      await harness.app.outbox.flush('events')
      const { app } = harness
      const token = admin.access_token
      const call = (method: string, url: string, payload?: unknown) =>
        app.inject({
          method: method as 'GET',
          url,
          headers: bearer(token),
          ...(payload === undefined ? {} : { payload: payload as object }),
        })
      return { ...harness, token, call }
    }

    test('POST /webhooks/ → 201, Location, the secret once; GET never shows it; it is sealed at rest', async (t) => {
      const { app, call, logs } = await setup(t, { SIGNING_KEY_SECRET })
      const res = await call('POST', '/webhooks/', {
        url: 'https://hooks.example.com/in?x=1',
        types: ['user.registered', 'user.deleted'],
        description: 'CRM',
      })
      assert.equal(res.statusCode, 201, res.body)
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), [...FIELDS, 'secret'].sort())
      assert.match(body.secret, SECRET)
      assert.equal(Buffer.from(body.secret.slice(6), 'base64').length, 32)
      assert.equal(res.headers.location, `/webhooks/${body.id}`)
      assert.equal(body.url, 'https://hooks.example.com/in?x=1')
      assert.deepEqual(body.types, ['user.registered', 'user.deleted'])
      assert.equal(body.enabled, true)
      assert.equal(body.description, 'CRM')
      assert.equal(body.disabled_reason, null)

      const one = await call('GET', `/webhooks/${body.id}`)
      assert.equal(one.statusCode, 200)
      assert.deepEqual(Object.keys(one.json()).sort(), FIELDS)
      const list = await call('GET', '/webhooks/')
      assert.deepEqual(
        list.json().items.map((w: { id: string }) => w.id),
        [body.id],
      )
      for (const answer of [one, list]) assert.ok(!answer.body.includes(body.secret))
      const row = await app.store.db.selectFrom('webhooks').selectAll().executeTakeFirstOrThrow()
      assert.notEqual(row.secret, body.secret)
      assert.ok(!row.secret.includes(body.secret.slice(6)), 'sealed, not plain')
      assert.ok(!logs.some((line) => line.includes(body.secret.slice(6))))
    })

    test('types null or absent is every type; unknown or no types are 422 validation_failed', async (t) => {
      const { call } = await setup(t)
      const all = await call('POST', '/webhooks/', { url: 'https://a.example/', types: null })
      assert.equal(all.statusCode, 201)
      assert.equal(all.json().types, null)
      const unknown = await call('POST', '/webhooks/', {
        url: 'https://a.example/',
        types: ['user.registered', 'user.exploded'],
      })
      const problem = assertProblem(unknown, 422, 'validation_failed')
      assert.deepEqual(
        problem?.errors.map((e: { field: string; code: string }) => [e.field, e.code]),
        [['types.1', 'invalid_value']],
      )
      assertProblem(
        await call('POST', '/webhooks/', { url: 'https://a.example/', types: [] }),
        422,
        'validation_failed',
      )
      assertProblem(await call('POST', '/webhooks/', { types: null }), 422, 'validation_failed')
      assertProblem(
        await call('POST', '/webhooks/', { url: 'https://a.example/', secret: 'mine' }),
        422,
        'validation_failed',
      )
    })

    test('URLs: https, or http to loopback only; no credentials; 422 naming the field url', async (t) => {
      const { call } = await setup(t)
      const refused: Array<[string, string]> = [
        ['not a url', 'invalid_format'],
        ['/relative', 'invalid_format'],
        ['ftp://files.example.com/', 'invalid_value'],
        ['http://hooks.example.com/', 'invalid_value'],
        ['http://10.0.0.1/', 'invalid_value'],
        ['https://user:pass@hooks.example.com/', 'invalid_format'],
        ['https://token@hooks.example.com/', 'invalid_format'],
      ]
      for (const [url, code] of refused) {
        const problem = assertProblem(
          await call('POST', '/webhooks/', { url }),
          422,
          'validation_failed',
          url,
        )
        assert.deepEqual(
          problem?.errors.map((e: { field: string; code: string }) => [e.field, e.code]),
          [['url', code]],
          url,
        )
      }
      for (const url of [
        'https://hooks.example.com/in',
        'http://127.0.0.1:8080/in',
        'http://127.8.9.10/',
        'http://localhost:3000/',
        'http://[::1]:9000/x',
      ]) {
        assert.equal((await call('POST', '/webhooks/', { url })).statusCode, 201, url)
      }
      const [first] = (await call('GET', '/webhooks/')).json().items
      const patched = await call('PATCH', `/webhooks/${first.id}`, { url: 'http://example.com/' })
      assertProblem(patched, 422, 'validation_failed')
    })

    test('WEBHOOK_ALLOW_HTTP=on allows plain http to any host (credentials still not)', async (t) => {
      const { call } = await setup(t, { WEBHOOK_ALLOW_HTTP: 'on' })
      assert.equal(
        (await call('POST', '/webhooks/', { url: 'http://hooks.example.com/' })).statusCode,
        201,
      )
      const creds = await call('POST', '/webhooks/', { url: 'http://u:p@hooks.example.com/' })
      assertProblem(creds, 422, 'validation_failed')
    })

    test('PATCH changes url, types and enabled; DELETE → 204 and its deliveries go with it', async (t) => {
      const { app, call } = await setup(t)
      const rx = await receiver(t, () => ({ status: 500 }))
      const hook = (await call('POST', '/webhooks/', { url: rx.url })).json()
      const patched = await call('PATCH', `/webhooks/${hook.id}`, {
        types: ['session.created'],
        description: 'moved',
        enabled: false,
      })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.deepEqual(patched.json().types, ['session.created'])
      assert.equal(patched.json().enabled, false)
      assert.ok(!patched.body.includes('whsec_'))
      const back = await call('PATCH', `/webhooks/${hook.id}`, { types: null, enabled: true })
      assert.equal(back.json().types, null)
      assert.equal(back.json().enabled, true)

      await causeEvent(app)
      await rx.waitFor(1)
      const removed = await call('DELETE', `/webhooks/${hook.id}`)
      assert.equal(removed.statusCode, 204)
      assert.equal(removed.body, '')
      assertProblem(await call('GET', `/webhooks/${hook.id}`), 404, 'not_found')
      assertProblem(await call('DELETE', `/webhooks/${hook.id}`), 404, 'not_found')
      const left = await app.store.db.selectFrom('webhook_deliveries').selectAll().execute()
      assert.deepEqual(left, [])
      const queued = await app.store.db
        .selectFrom('outbox')
        .selectAll()
        .where('channel', '=', `webhook:${hook.id}`)
        .execute()
      assert.deepEqual(queued, [])
    })

    test('unknown and malformed ids are 404 not_found on every route', async (t) => {
      const { call } = await setup(t)
      for (const id of [NO_SUCH_UUID, 'nope', '1']) {
        for (const [method, url, payload] of [
          ['GET', `/webhooks/${id}`],
          ['PATCH', `/webhooks/${id}`, { enabled: true }],
          ['DELETE', `/webhooks/${id}`],
          ['POST', `/webhooks/${id}/rotate-secret`],
          ['GET', `/webhooks/${id}/deliveries`],
          ['POST', `/webhooks/${id}/deliveries/${NO_SUCH_UUID}/retry`],
        ] as Array<[string, string, unknown?]>) {
          assertProblem(await call(method, url, payload), 404, 'not_found', `${method} ${url}`)
        }
      }
    })

    test('lists page with limit and cursor (Link: rel="next"); a bad cursor or status is 422', async (t) => {
      const { call } = await setup(t)
      const made = []
      for (const n of [1, 2, 3])
        made.push((await call('POST', '/webhooks/', { url: `https://h${n}.example/` })).json().id)
      const first = await call('GET', '/webhooks/?limit=2')
      assert.equal(first.json().items.length, 2)
      const cursor = first.json().next_cursor
      assert.match(String(first.headers.link), /rel="next"/)
      const second = await call('GET', `/webhooks/?limit=2&cursor=${cursor}`)
      assert.deepEqual(
        [...first.json().items, ...second.json().items].map((w: { id: string }) => w.id),
        made,
      )
      assert.equal(second.json().next_cursor, null)
      assertProblem(await call('GET', '/webhooks/?cursor=zzz'), 422, 'validation_failed')
      assertProblem(
        await call('GET', `/webhooks/${made[0]}/deliveries?status=lost`),
        422,
        'validation_failed',
      )
      const empty = await call('GET', `/webhooks/${made[0]}/deliveries?status=failed`)
      assert.deepEqual(empty.json(), { items: [], next_cursor: null })
    })

    test('only admins: 401 without a token, 403 forbidden for a user, on every route', async (t) => {
      const { app, call } = await setup(t)
      const hook = (await call('POST', '/webhooks/', { url: 'https://a.example/' })).json()
      const user = await signUp(app, 'mallory')
      for (const [method, url] of [
        ['POST', '/webhooks/'],
        ['GET', '/webhooks/'],
        ['GET', `/webhooks/${hook.id}`],
        ['PATCH', `/webhooks/${hook.id}`],
        ['DELETE', `/webhooks/${hook.id}`],
        ['POST', `/webhooks/${hook.id}/rotate-secret`],
        ['GET', `/webhooks/${hook.id}/deliveries`],
        ['POST', `/webhooks/${hook.id}/deliveries/${NO_SUCH_UUID}/retry`],
      ] as Array<['GET' | 'POST' | 'PATCH' | 'DELETE', string]>) {
        const payload =
          method === 'POST' || method === 'PATCH' ? { url: 'https://b.example/' } : undefined
        const asUser = await app.inject({
          method,
          url,
          headers: bearer(user.access_token),
          ...(payload ? { payload } : {}),
        })
        assertProblem(asUser, 403, 'forbidden', `${method} ${url}`)
        assertProblem(await app.inject({ method, url }), 401, 'invalid_token', `${method} ${url}`)
      }
      const still = await call('GET', '/webhooks/')
      assert.equal(still.json().items.length, 1)
    })

    test('the webhooks routes are in the OpenAPI document under the tag webhooks', async (t) => {
      const { app } = await setup(t)
      const doc = (await app.inject({ url: '/openapi.json' })).json()
      for (const path of [
        '/webhooks/',
        '/webhooks/{id}',
        '/webhooks/{id}/rotate-secret',
        '/webhooks/{id}/deliveries',
        '/webhooks/{id}/deliveries/{delivery_id}/retry',
      ]) {
        const item = doc.paths[path]
        assert.ok(item, path)
        for (const operation of Object.values(item) as Array<{ tags: string[] }>)
          assert.deepEqual(operation.tags, ['webhooks'], path)
      }
    })
  })
}
