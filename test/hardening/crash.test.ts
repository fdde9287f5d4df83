// Crash safety: an answered write survives `kill -9`. Every round starts the real service on the
// same database, drives concurrent registrations, SIGKILLs it at a random moment while requests
// are in flight, and the next start must let every login that was answered 201 log in.
import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { DatabaseSync } from 'node:sqlite'
import { describe, type TestContext, test } from 'node:test'
import pg from 'pg'
import { Pool, request } from 'undici'
import { sqlitePath } from '../../src/db/sqlite.ts'
import { type DialectName, dialects, freshDatabaseUrl } from '../support/harness.ts'
import { startServer as startProcess } from '../support/processes.ts'
import { NEW_PASSWORD, PASSWORD } from '../support/requests.ts'

const ROUNDS = 20
/** Registrations in flight at once. */
const CONCURRENCY = 12
const PASSWORD_ROUNDS = 5

// Reproducible randomness: HARDENING_SEED=… replays a failing run.
const SEED = Number(process.env.HARDENING_SEED) || randomInt(1, 2 ** 31)
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32
  }
}
const random = prng(SEED)
const pick = (n: number) => Math.floor(random() * n)

interface Started {
  base: string
  pool: Pool
  kill(): void
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Log lines at level error or above (a 500 would show here). */
  errors(): string[]
}

async function start(t: TestContext, databaseUrl: string): Promise<Started> {
  const server = await startProcess(t, {
    databaseUrl,
    env: { TLS: 'off', LOG_LEVEL: 'warn', METRICS_PORT: '0' },
  })
  const pool = new Pool(server.base, { connections: CONCURRENCY * 2 })
  t.after(() => pool.destroy())
  return {
    base: server.base,
    pool,
    kill: () => assert.ok(server.child.kill('SIGKILL')),
    exited: server.exited,
    errors: () =>
      server.stdout.filter((line) => ((JSON.parse(line) as { level?: number }).level ?? 0) >= 50),
  }
}

async function post(
  server: Started,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  method: 'POST' | 'PUT' = 'POST',
) {
  return request(`${server.base}${path}`, {
    method,
    dispatcher: server.pool,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

/** A login's status; the body is read (and parsed on 200) so the connection is reusable. */
async function loginStatus(server: Started, login: string, password = PASSWORD) {
  const res = await post(server, '/session/', { login, password })
  const text = await res.body.text()
  return { status: res.statusCode, body: text }
}

/** Runs `task` over `items`, `width` at a time. */
async function inBatches<T>(items: T[], width: number, task: (item: T) => Promise<void>) {
  const queue = [...items]
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item)
    }),
  )
}

interface RoundResult {
  created: string[]
  unanswered: string[]
  inFlightAtKill: number
  how: string
}

/**
 * CONCURRENCY workers register unique logins back to back; once `target` have been answered 201
 * the process is SIGKILLed (at once, after a turn of the event loop, or a few ms later).
 */
async function crashRound(server: Started, prefix: string): Promise<RoundResult> {
  const target = 1 + pick(40)
  const how = ['sync', 'immediate', 'timeout'][pick(3)] as string
  const delay = pick(15)
  const created: string[] = []
  const unanswered: string[] = []
  const wrong: string[] = []
  const pending = new Set<string>()
  // Workers keep going until the kill itself, so requests are in flight whenever it lands.
  let scheduled = false
  let stopping = false
  let inFlightAtKill = -1
  let counter = 0
  const kill = () => {
    if (stopping) return
    stopping = true
    inFlightAtKill = pending.size
    server.kill()
  }
  const worker = async (id: number) => {
    while (!stopping) {
      const login = `${prefix}-${id}-${counter++}`
      pending.add(login)
      let status: number | undefined
      try {
        const res = await post(server, '/user/', { login, password: PASSWORD })
        status = res.statusCode
        pending.delete(login)
        await res.body.text().catch(() => '')
      } catch (error) {
        pending.delete(login)
        if (stopping) {
          // No answer: the process died with this request in flight.
          unanswered.push(login)
        } else {
          // The service failed us before the kill: a failure, and the end of the round.
          wrong.push(`${login}: no answer before the kill (${(error as Error).message})`)
          kill()
        }
        continue
      }
      if (status !== 201) {
        // Unique logins: anything else is a failure; stop the round and report it.
        wrong.push(`${login}: ${status}`)
        kill()
        continue
      }
      created.push(login)
      if (!scheduled && created.length >= target) {
        scheduled = true
        if (how === 'sync') kill()
        else if (how === 'immediate') setImmediate(kill)
        else setTimeout(kill, delay)
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, id) => worker(id)))
  const exit = await server.exited
  assert.deepEqual(exit, { code: null, signal: 'SIGKILL' })
  assert.deepEqual(wrong, [], `registrations answered other than 201 (seed ${SEED})`)
  return { created, unanswered, inFlightAtKill, how: how === 'timeout' ? `${delay} ms` : how }
}

/** The logins in the database, read behind the (dead) service's back. */
async function storedLogins(databaseUrl: string, dialect: DialectName): Promise<Set<string>> {
  if (dialect === 'sqlite') {
    const db = new DatabaseSync(sqlitePath(databaseUrl), { readOnly: true })
    try {
      const integrity = db.prepare('PRAGMA integrity_check').all()
      assert.deepEqual(
        integrity.map((row) => row.integrity_check),
        ['ok'],
        `integrity (seed ${SEED})`,
      )
      const rows = db.prepare('select login, password_hash from users').all() as Array<{
        login: string
        password_hash: string
      }>
      for (const row of rows) assert.match(row.password_hash, /^\$argon2id\$/, row.login)
      return new Set(rows.map((row) => row.login))
    } finally {
      db.close()
    }
  }
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ login: string; password_hash: string }>(
      'select login, password_hash from users',
    )
    for (const row of rows) assert.match(row.password_hash, /^\$argon2id\$/, row.login)
    return new Set(rows.map((row) => row.login))
  } finally {
    await client.end()
  }
}

/** Every acknowledged login logs in; an unacknowledged one either exists whole or not at all. */
async function verify(server: Started, result: RoundResult, what: string) {
  await inBatches(result.created, 8, async (login) => {
    const { status, body } = await loginStatus(server, login)
    assert.equal(
      status,
      200,
      `${what}: ${login} was answered 201 (seed ${SEED}): ${body}\n${server.errors().join('\n')}`,
    )
  })
  await inBatches(result.unanswered, 8, async (login) => {
    const { status, body } = await loginStatus(server, login)
    assert.ok(status === 200 || status === 401, `${what}: ${login} (seed ${SEED}): ${body}`)
  })
}

for (const dialect of dialects()) {
  // About 45 s each in CI on a 2-core machine; the bound is for a hang, not for a busy machine.
  describe(`kill -9 under load (${dialect})`, { timeout: 300_000 }, () => {
    test(`${ROUNDS} rounds: every registration answered 201 survives SIGKILL`, async (t) => {
      t.diagnostic(`seed ${SEED}`)
      const databaseUrl = await freshDatabaseUrl(t, dialect)
      const everyCreated: string[] = []
      let previous: RoundResult | undefined
      let totalUnanswered = 0
      for (let round = 0; round < ROUNDS; round++) {
        const server = await start(t, databaseUrl)
        if (previous) await verify(server, previous, `round ${round - 1} after restart`)
        const result = await crashRound(server, `k${dialect[0]}${round}`)
        const what = `round ${round} (kill: ${result.how}, seed ${SEED})`
        assert.ok(result.created.length > 0, what)
        assert.ok(result.inFlightAtKill > 0, `${what}: requests were in flight at the kill`)
        assert.deepEqual(server.errors(), [], `${what}: no errors logged`)
        const stored = await storedLogins(databaseUrl, dialect)
        const lost = result.created.filter((login) => !stored.has(login))
        assert.deepEqual(lost, [], `${what}: acknowledged registrations lost`)
        everyCreated.push(...result.created)
        totalUnanswered += result.unanswered.length
        previous = result
      }
      const server = await start(t, databaseUrl)
      assert.ok(previous)
      await verify(server, previous, `round ${ROUNDS - 1} after restart`)
      // Nothing acknowledged in an earlier round went missing in a later crash either.
      const stored = await storedLogins(databaseUrl, dialect)
      assert.deepEqual(
        everyCreated.filter((login) => !stored.has(login)),
        [],
      )
      t.diagnostic(
        `${everyCreated.length} acknowledged, ${totalUnanswered} cut off by the kills, ${stored.size} stored`,
      )
    })

    test('a password change answered 204 right before SIGKILL is the one in force', async (t) => {
      const databaseUrl = await freshDatabaseUrl(t, dialect)
      let server = await start(t, databaseUrl)
      for (let round = 0; round < PASSWORD_ROUNDS; round++) {
        const login = `pw${dialect[0]}${round}`
        const created = await post(server, '/user/', { login, password: PASSWORD })
        assert.equal(created.statusCode, 201, `round ${round}`)
        await created.body.text()
        const session = await post(server, '/session/', { login, password: PASSWORD })
        assert.equal(session.statusCode, 200)
        const tokens = (await session.body.json()) as {
          access_token: string
          refresh_token: string
        }
        const changed = await post(
          server,
          '/user/me/password',
          { current_password: PASSWORD, new_password: NEW_PASSWORD },
          { authorization: `Bearer ${tokens.access_token}` },
          'PUT',
        )
        // The moment the 204 is in, before even reading on.
        if (changed.statusCode === 204) server.kill()
        assert.equal(changed.statusCode, 204, `round ${round}`)
        await changed.body.text().catch(() => '')
        assert.deepEqual(await server.exited, { code: null, signal: 'SIGKILL' })

        server = await start(t, databaseUrl)
        const old = await loginStatus(server, login, PASSWORD)
        assert.equal(old.status, 401, `round ${round}: the old password: ${old.body}`)
        assert.equal(JSON.parse(old.body).code, 'invalid_credentials')
        const fresh = await loginStatus(server, login, NEW_PASSWORD)
        assert.equal(fresh.status, 200, `round ${round}: the new password: ${fresh.body}`)
        // The same transaction ended the sessions of the old password.
        const refreshed = await post(server, '/session/refresh', {
          refresh_token: tokens.refresh_token,
        })
        assert.equal(refreshed.statusCode, 401, `round ${round}: the old refresh token`)
        assert.equal(
          ((await refreshed.body.json()) as { code: string }).code,
          'invalid_refresh_token',
        )
      }
    })
  })
}
