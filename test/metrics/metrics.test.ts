import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startMetricsServer } from '../../src/metrics/server.ts'
import { makeApp } from '../support/harness.ts'
import { login, refresh, register, signUp } from '../support/requests.ts'

/** The value of one sample line, e.g. `usersvc_logins_total{outcome="success"}`. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  assert.ok(
    line,
    `no sample ${name} in:\n${text
      .split('\n')
      .filter((l) => l.startsWith(name.split('{')[0] ?? ''))
      .join('\n')}`,
  )
  return Number(line.slice(name.length + 1))
}

describe('Prometheus metrics', () => {
  test('count requests by route, outcomes of logins, registrations and refreshes, and hash work', async (t) => {
    const { app } = await makeApp(t)
    const alice = await signUp(app, 'alice')
    assert.equal((await register(app, 'alice')).statusCode, 409)
    assert.equal((await register(app, 'bob', 'short')).statusCode, 422)
    assert.equal((await login(app, 'alice', 'wrong password, quite long')).statusCode, 401)
    assert.equal((await refresh(app, alice.refresh_token)).statusCode, 200)
    assert.equal((await refresh(app, alice.refresh_token)).statusCode, 401) // reuse
    assert.equal(
      (await app.inject({ method: 'GET', url: '/user/0190c0de-0000-7000-8000-000000000000' }))
        .statusCode,
      401,
    )

    const text = await app.metrics.registry.metrics()
    assert.equal(sample(text, 'usersvc_registrations_total{outcome="created"}'), 1)
    assert.equal(sample(text, 'usersvc_registrations_total{outcome="taken"}'), 1)
    assert.equal(sample(text, 'usersvc_registrations_total{outcome="invalid"}'), 1)
    assert.equal(sample(text, 'usersvc_logins_total{outcome="success"}'), 1)
    assert.equal(sample(text, 'usersvc_logins_total{outcome="invalid"}'), 1)
    assert.equal(sample(text, 'usersvc_token_refreshes_total{outcome="success"}'), 1)
    assert.equal(sample(text, 'usersvc_token_refreshes_total{outcome="reuse"}'), 1)
    assert.equal(sample(text, 'usersvc_token_refreshes_total{outcome="invalid"}'), 1)
    // Route patterns, not URLs: the id does not become a label value.
    assert.equal(
      sample(text, 'usersvc_http_requests_total{route="/user/:id",method="GET",status="401"}'),
      1,
    )
    assert.ok(!text.includes('0190c0de'), 'an id leaked into a label')
    assert.equal(
      sample(text, 'usersvc_http_requests_total{route="/user/",method="POST",status="201"}'),
      1,
    )
    // One hash at registration; verifies: alice's login, the wrong password.
    assert.equal(sample(text, 'usersvc_password_hash_duration_seconds_count{operation="hash"}'), 1)
    assert.equal(
      sample(text, 'usersvc_password_hash_duration_seconds_count{operation="verify"}'),
      2,
    )
    assert.equal(sample(text, 'usersvc_password_hash_queue_length'), 0)
    assert.ok(sample(text, 'usersvc_db_query_duration_seconds_count') > 0)
    assert.ok(text.includes('process_resident_memory_bytes'), 'process metrics')
  })

  test('are served on their own listener at /metrics, and nothing else is', async (t) => {
    const { app } = await makeApp(t)
    await signUp(app, 'alice')
    const server = await startMetricsServer(app.metrics.registry, '127.0.0.1', 0)
    t.after(() => new Promise<void>((done) => server.close(() => done())))
    const address = server.address()
    assert.ok(address && typeof address === 'object')
    const base = `http://127.0.0.1:${address.port}`
    const res = await fetch(`${base}/metrics`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    assert.equal(sample(await res.text(), 'usersvc_logins_total{outcome="success"}'), 1)
    assert.equal((await fetch(`${base}/`)).status, 404)
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404)
    // And the API does not serve them.
    assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
  })
})

describe('X-Request-Id', () => {
  test('a sane incoming id is kept, echoed and logged; otherwise one is made', async (t) => {
    const h = await makeApp(t)
    const given = await h.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'abc-123' },
    })
    assert.equal(given.headers['x-request-id'], 'abc-123')
    const made = await h.app.inject({ method: 'GET', url: '/health/live' })
    assert.match(String(made.headers['x-request-id']), /^[0-9a-f-]{36}$/)
    const hostile = await h.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'x'.repeat(200) },
    })
    assert.match(String(hostile.headers['x-request-id']), /^[0-9a-f-]{36}$/)
    const lines = h.logs.map((l) => JSON.parse(l) as { reqId?: string; msg?: string })
    assert.ok(lines.some((l) => l.reqId === 'abc-123' && l.msg === 'request'))
    assert.ok(lines.some((l) => l.reqId === made.headers['x-request-id'] && l.msg === 'request'))
    // Problem documents carry it too.
    const missing = await h.app.inject({
      method: 'GET',
      url: '/nope',
      headers: { 'x-request-id': 'trace.9' },
    })
    assert.equal(missing.headers['x-request-id'], 'trace.9')
  })
})
