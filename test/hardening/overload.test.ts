// Overload: with one hash at a time and two waiting, a burst of logins is split at once into the
// admitted (answered 200/401 in turn) and the refused (503 overloaded, Retry-After). Meanwhile the
// requests that do not hash (health, /user/me, JWKS, refresh) are answered while admitted hashes
// are still running: argon2id runs on libuv's thread pool, not on the event loop.
import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { Pool, request } from 'undici'
import { assertProblem } from '../support/problems.ts'
import { startServer } from '../support/processes.ts'
import { PASSWORD } from '../support/requests.ts'

const BURST = 20

// Costly enough that three hashes in a row outlast a few cheap requests by far (~70 ms each on a
// current core; ARGON2_MEMORY_KIB=19456 ARGON2_TIME_COST=2 can be as quick as 7 ms).
const OVERLOAD_ENV = {
  TLS: 'off',
  METRICS_PORT: '0',
  HASH_CONCURRENCY: '1',
  HASH_QUEUE_LIMIT: '2',
  ARGON2_MEMORY_KIB: '65536',
  ARGON2_TIME_COST: '3',
}

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** Position among all completions of the test (0, 1, 2, …). */
  order: number
}

async function start(t: TestContext) {
  const server = await startServer(t, { env: OVERLOAD_ENV })
  const pool = new Pool(server.base, { connections: BURST * 2 })
  t.after(() => pool.destroy())
  let completed = 0
  const call = async (
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> => {
    const res = await request(`${server.base}${path}`, {
      method,
      dispatcher: pool,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.body.text()
    return { status: res.statusCode, headers: res.headers, body: text, order: completed++ }
  }
  return { server, call }
}

function assertOverloaded(reply: Reply, what: string) {
  assertProblem({ ...reply, statusCode: reply.status }, 503, 'overloaded', what)
  assert.match(String(reply.headers['retry-after']), /^[1-9]\d*$/, `${what}: Retry-After`)
}

describe('hash overload (HASH_CONCURRENCY=1, HASH_QUEUE_LIMIT=2)', { timeout: 60_000 }, () => {
  test('a login burst: 503 overloaded at once for the excess; cheap requests still answered while hashes run', async (t) => {
    const { call } = await start(t)
    assert.equal((await call('POST', '/user/', { login: 'owner', password: PASSWORD })).status, 201)
    const first = await call('POST', '/session/', { login: 'owner', password: PASSWORD })
    assert.equal(first.status, 200, first.body)
    const tokens = JSON.parse(first.body) as { access_token: string; refresh_token: string }

    // Half for the real account (200), half for logins that do not exist (401 after the same
    // dummy hash); distinct unknown logins so no per-account back-off comes into play.
    const attempts = Array.from({ length: BURST }, (_, i) =>
      i % 2 === 0 ? { login: 'owner', expected: 200 } : { login: `ghost${i}`, expected: 401 },
    )
    let firstRefusal: () => void = () => {}
    const refused = new Promise<void>((resolve) => {
      firstRefusal = resolve
    })
    const logins = attempts.map(async ({ login }) => {
      const reply = await call('POST', '/session/', { login, password: PASSWORD })
      if (reply.status === 503) firstRefusal()
      return reply
    })
    const burst = Promise.all(logins)
    // As soon as the excess is refused the admitted hashes are running: now the cheap requests.
    await Promise.race([refused, burst])
    const bearer = { authorization: `Bearer ${tokens.access_token}` }
    const side = await Promise.all([
      call('GET', '/health/live'),
      call('GET', '/user/me', undefined, bearer),
      call('GET', '/.well-known/jwks.json'),
      call('POST', '/session/refresh', { refresh_token: tokens.refresh_token }),
    ])
    const replies = await burst

    const admitted = replies.filter((r) => r.status !== 503)
    const overloaded = replies.filter((r) => r.status === 503)
    replies.forEach((reply, i) => {
      const { login, expected } = attempts[i] as { login: string; expected: number }
      if (reply.status === 503) assertOverloaded(reply, `login ${i} (${login})`)
      else assert.equal(reply.status, expected, `login ${i} (${login}): ${reply.body}`)
    })
    assert.ok(overloaded.length > 0, 'some logins were refused')
    assert.ok(admitted.length > 0, 'some logins were admitted')
    t.diagnostic(`${admitted.length} admitted, ${overloaded.length} refused`)

    // Refused at once: every 503 came back before the last admitted login was answered.
    const lastAdmitted = Math.max(...admitted.map((r) => r.order))
    for (const reply of overloaded) assert.ok(reply.order < lastAdmitted, 'refused before done')

    const [live, me, jwks, refreshed] = side as [Reply, Reply, Reply, Reply]
    assert.equal(live.status, 200, live.body)
    assert.deepEqual(JSON.parse(live.body), { status: 'ok' })
    assert.equal(me.status, 200, me.body)
    assert.equal((JSON.parse(me.body) as { login: string }).login, 'owner')
    assert.equal(jwks.status, 200, jwks.body)
    assert.ok((JSON.parse(jwks.body) as { keys: unknown[] }).keys.length > 0)
    assert.equal(refreshed.status, 200, refreshed.body)
    assert.ok((JSON.parse(refreshed.body) as { access_token?: string }).access_token)
    // The event loop was free: each cheap request finished while an admitted hash was pending.
    for (const [name, reply] of [
      ['/health/live', live],
      ['/user/me', me],
      ['jwks', jwks],
      ['/session/refresh', refreshed],
    ] as const) {
      assert.ok(
        reply.order < lastAdmitted,
        `${name} (completion #${reply.order}) answered before the last admitted login (#${lastAdmitted})`,
      )
    }

    // Once the burst is over, the service is back to normal.
    const again = await call('POST', '/session/', { login: 'owner', password: PASSWORD })
    assert.equal(again.status, 200, again.body)
    const ready = await call('GET', '/health/ready')
    assert.equal(ready.status, 200, ready.body)
  })

  test('a registration burst: the refused ones are not created, the admitted ones are', async (t) => {
    const { call } = await start(t)
    const logins = Array.from({ length: BURST }, (_, i) => `burst${i}`)
    const replies = await Promise.all(
      logins.map((login) => call('POST', '/user/', { login, password: PASSWORD })),
    )
    const created = logins.filter((_, i) => replies[i]?.status === 201)
    const refused = logins.filter((_, i) => replies[i]?.status === 503)
    replies.forEach((reply, i) => {
      if (reply.status === 503) assertOverloaded(reply, logins[i] as string)
      else assert.equal(reply.status, 201, `${logins[i]}: ${reply.body}`)
    })
    assert.ok(refused.length > 0, 'some registrations were refused')
    assert.ok(created.length > 0, 'some registrations were admitted')

    // A refused registration left nothing behind: trying again creates it.
    for (const login of refused) {
      const reply = await call('POST', '/user/', { login, password: PASSWORD })
      assert.equal(reply.status, 201, `${login} again: ${reply.body}`)
    }
    for (const login of created) {
      const reply = await call('POST', '/user/', { login, password: PASSWORD })
      assert.equal(reply.status, 409, `${login} again: ${reply.body}`)
    }
  })

  test('refusing work is cheap: a 503 overloaded is not logged as an error with a stack', async (t) => {
    // Under overload every refusal would otherwise add a stack trace to the log, at level
    // error, just when the service can least afford it and alerts matter most.
    const { call, server } = await start(t)
    const replies = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        call('POST', '/session/', { login: `ghost${i}`, password: PASSWORD }),
      ),
    )
    const refused = replies.filter((r) => r.status === 503).length
    assert.ok(refused > 0, 'some logins were refused')
    await server.waitForLine((line) => {
      const l = JSON.parse(line) as { msg?: string; status?: number }
      return l.msg === 'request' && l.status === 503
    })
    const errors = server.stdout
      .map((line) => JSON.parse(line) as { level?: number; msg?: string; err?: { code?: string } })
      .filter((line) => (line.level ?? 0) >= 50)
      .map((line) => `${line.msg} (${line.err?.code})`)
    assert.deepEqual(errors, [], `${refused} refusals`)
  })
})
