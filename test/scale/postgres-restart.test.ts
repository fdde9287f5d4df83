// PostgreSQL stopped and started again under a running usersvc (a real process, plain HTTP):
// meanwhile every request that needs the database answers 503 `unavailable` at once (no 500, no
// hang, nothing internal in the body), readiness takes the instance out of rotation, liveness stays
// 200, and service resumes by itself when the database is back. The PostgreSQL here is private
// (its own data directory and port): the machine's shared server is never touched.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { promisify } from 'node:util'
import { eventually } from '../support/eventually.ts'
import { freePort } from '../support/ports.ts'
import { assertProblem } from '../support/problems.ts'
import { childrenOf, type Server, startServer } from '../support/processes.ts'
import { NOT_READY, PASSWORD, READY } from '../support/requests.ts'

const run = promisify(execFile)
const PG_BIN = '/usr/lib/postgresql/15/bin'
/** A request the service must answer, one way or another, well within this. */
const ANSWER_WITHIN_MS = 10_000

/** A throwaway PostgreSQL 15 cluster of its own, run as the postgres user. */
class PrivatePostgres {
  readonly dir: string
  readonly port: number
  #running = false
  constructor(dir: string, port: number) {
    this.dir = dir
    this.port = port
  }

  get dataDir(): string {
    return join(this.dir, 'data')
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`
  }

  #asPostgres(command: string, args: string[]) {
    return run('runuser', ['-u', 'postgres', '--', join(PG_BIN, command), ...args], {
      timeout: 120_000,
    })
  }

  async init(): Promise<void> {
    await this.#asPostgres('initdb', ['-D', this.dataDir, '-A', 'trust', '-U', 'postgres'])
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`
    // -l: the server's output goes to a file, not to pipes that would keep execFile waiting.
    await this.#asPostgres('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'postgres.log'),
      '-o',
      options,
      '-w',
      'start',
    ])
    this.#running = true
  }

  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.#asPostgres('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', 'stop'])
    this.#running = false
  }

  get running(): boolean {
    return this.#running
  }

  #frozen: number[] = []

  /**
   * SIGSTOP to the postmaster and every backend: connections stay open, nothing answers (a hung
   * server or a network partition, as opposed to a stopped one, which refuses connections).
   */
  async freeze(): Promise<void> {
    const postmaster = Number(
      (await readFile(join(this.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0],
    )
    this.#frozen = [postmaster, ...childrenOf(postmaster)]
    for (const pid of this.#frozen) process.kill(pid, 'SIGSTOP')
  }

  thaw(): void {
    for (const pid of this.#frozen) {
      try {
        process.kill(pid, 'SIGCONT')
      } catch {
        // gone already
      }
    }
    this.#frozen = []
  }
}

async function privatePostgres(t: TestContext): Promise<PrivatePostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'usersvc-pg-'))
  const pg = new PrivatePostgres(dir, await freePort())
  t.after(async () => {
    pg.thaw()
    if (pg.running) await pg.stop('immediate').catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })
  const { uid, gid } = await postgresUser()
  await chown(dir, uid, gid)
  await pg.init()
  await pg.start()
  return pg
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([
    run('id', ['-u', 'postgres']).then(({ stdout }) => Number(stdout.trim())),
    run('id', ['-g', 'postgres']).then(({ stdout }) => Number(stdout.trim())),
  ])
  return { uid, gid }
}

interface Answer {
  status: number
  headers: Record<string, string>
  contentType: string
  retryAfter: string | null
  body: string
}

/** One request; an answer that takes longer than ANSWER_WITHIN_MS fails the test as a hang. */
async function call(
  server: Server,
  method: string,
  path: string,
  options: { body?: unknown; token?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (options.token) headers.authorization = `Bearer ${options.token}`
  let res: Response
  try {
    res = await fetch(`${server.base}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    })
  } catch (error) {
    throw new Error(`${method} ${path}: no answer (${String(error)})`)
  }
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers),
    contentType: res.headers.get('content-type') ?? '',
    retryAfter: res.headers.get('retry-after'),
    body: await res.text(),
  }
}

const registerAt = (server: Server, login: string) =>
  call(server, 'POST', '/user/', { body: { login, password: PASSWORD } })
const loginAt = (server: Server, login: string) =>
  call(server, 'POST', '/session/', { body: { login, password: PASSWORD } })
const meAt = (server: Server, token: string) => call(server, 'GET', '/user/me', { token })

/** Nothing of the machinery in a body: no driver error, address, port, path or stack. */
function assertNoInternals(answer: Answer, pgPort: number, what: string) {
  for (const leak of [
    'ECONNREFUSED',
    'ECONNRESET',
    'terminat',
    'stack',
    'node_modules',
    '.ts:',
    'postgres',
    '127.0.0.1',
    String(pgPort),
    '    at ',
  ]) {
    assert.ok(!answer.body.includes(leak), `${what}: the body reveals "${leak}": ${answer.body}`)
  }
}

/** 503 `unavailable` as an RFC 9457 problem document with Retry-After; never a 500. */
function assertUnavailable(answer: Answer, pgPort: number, what: string) {
  assert.notEqual(answer.status, 500, `${what}: ${answer.body}`)
  assertProblem({ ...answer, statusCode: answer.status }, 503, 'unavailable', what)
  assert.deepEqual(
    JSON.parse(answer.body),
    {
      type: '/problems/unavailable',
      title: 'The service is temporarily unavailable',
      status: 503,
      code: 'unavailable',
    },
    what,
  )
  assert.equal(answer.retryAfter, '1', what)
  assertNoInternals(answer, pgPort, what)
}

function assertAlive(server: Server, what: string) {
  assert.equal(server.child.exitCode, null, `${what}: usersvc exited\n${server.stderr()}`)
  assert.equal(server.child.signalCode, null, `${what}: usersvc was killed`)
}

describe('PostgreSQL stopped and started under a running usersvc', () => {
  test('503 unavailable while it is down, service resumes by itself when it is back', async (t) => {
    const pg = await privatePostgres(t)
    // One instance with the default key cache (30 s), one that re-reads the keys every time
    // (KEY_CACHE_SECONDS=0, as after the cache has run out): token checks need the database too.
    const server = await startServer(t, { databaseUrl: pg.url, env: { TLS: 'off' } })
    const uncached = await startServer(t, {
      databaseUrl: pg.url,
      env: { TLS: 'off', KEY_CACHE_SECONDS: '0' },
    })

    // Before: all well.
    assert.equal((await registerAt(server, 'early')).status, 201)
    const loggedIn = await loginAt(server, 'early')
    assert.equal(loggedIn.status, 200, loggedIn.body)
    const token = JSON.parse(loggedIn.body).access_token as string
    assert.equal((await meAt(server, token)).status, 200)
    assert.equal((await meAt(uncached, token)).status, 200)
    const ready = await call(server, 'GET', '/health/ready')
    assert.equal(ready.status, 200, ready.body)
    assert.deepEqual(JSON.parse(ready.body), READY)

    await pg.stop()

    await t.test('while it is down: 503 unavailable, readiness 503, liveness 200', async () => {
      assertUnavailable(await registerAt(server, 'during'), pg.port, 'POST /user/')
      assertUnavailable(await loginAt(server, 'early'), pg.port, 'POST /session/')
      assertUnavailable(await meAt(server, token), pg.port, 'GET /user/me')

      const notReady = await call(server, 'GET', '/health/ready')
      assert.equal(notReady.status, 503, notReady.body)
      assert.equal(notReady.contentType, 'application/json; charset=utf-8')
      assert.deepEqual(JSON.parse(notReady.body), NOT_READY)
      assertNoInternals(notReady, pg.port, 'GET /health/ready')

      const live = await call(server, 'GET', '/health/live')
      assert.equal(live.status, 200, live.body)
      assert.deepEqual(JSON.parse(live.body), { status: 'ok' })

      // Asked again, the same: nothing wedged, nothing crashed.
      assertUnavailable(await loginAt(server, 'early'), pg.port, 'POST /session/ again')
      assertAlive(server, 'during the outage')
      // What went wrong is in the log, for the operator: a warning or an error per refused request.
      const refusals = server.stdout
        .map((line) => JSON.parse(line) as { level: number; msg: string; url?: string })
        .filter((line) => line.level >= 40 && /database|request failed/.test(line.msg))
      assert.ok(refusals.length >= 4, server.stdout.join('\n'))
    })

    await t.test(
      'while it is down, a valid token is 503 (not 401) when the key cache is cold',
      async () => {
        // A 401 would tell the client its token is bad and make it throw the session away.
        assertUnavailable(await meAt(uncached, token), pg.port, 'GET /user/me, KEY_CACHE_SECONDS=0')
        assertAlive(uncached, 'during the outage (KEY_CACHE_SECONDS=0)')
      },
    )

    await pg.start()

    await t.test('once it is back: the same requests succeed, without a restart', async () => {
      await eventually(
        async () => {
          const res = await call(server, 'GET', '/health/ready')
          return res.status === 200 ? res : undefined
        },
        { what: 'readiness 200 after PostgreSQL came back' },
      )
      const ready = await call(server, 'GET', '/health/ready')
      assert.deepEqual(JSON.parse(ready.body), READY)

      const created = await registerAt(server, 'later')
      assert.equal(created.status, 201, created.body)
      // The user from before the outage is still there and can log in.
      const again = await loginAt(server, 'early')
      assert.equal(again.status, 200, again.body)
      const me = await meAt(server, token)
      assert.equal(me.status, 200, me.body)
      assert.equal(JSON.parse(me.body).login, 'early')
      const later = await loginAt(server, 'later')
      assert.equal(later.status, 200, later.body)

      const meUncached = await meAt(uncached, token)
      assert.equal(meUncached.status, 200, meUncached.body)
      assertAlive(server, 'after the outage')
      assertAlive(uncached, 'after the outage (KEY_CACHE_SECONDS=0)')
    })
  })
})

describe('PostgreSQL not answering (frozen) under a running usersvc', () => {
  test('requests answer 503 unavailable within seconds instead of hanging, and recover', async (t) => {
    const pg = await privatePostgres(t)
    const server = await startServer(t, { databaseUrl: pg.url, env: { TLS: 'off' } })
    assert.equal((await registerAt(server, 'frozen')).status, 201)
    const loggedIn = await loginAt(server, 'frozen')
    assert.equal(loggedIn.status, 200, loggedIn.body)
    const token = JSON.parse(loggedIn.body).access_token as string

    // The pool now holds idle connections to a server that will not answer on them.
    await pg.freeze()
    try {
      await t.test('while frozen: login, registration and GET /user/me answer 503', async () => {
        const answers = await Promise.allSettled([
          loginAt(server, 'frozen'),
          registerAt(server, 'meanwhile'),
          meAt(server, token),
        ])
        const what = ['POST /session/', 'POST /user/', 'GET /user/me']
        // Every request's fate in the message, not only the first one's.
        const failures = answers.flatMap((answer, i) => {
          try {
            if (answer.status === 'rejected') throw answer.reason
            assertUnavailable(answer.value, pg.port, what[i] ?? '')
            return []
          } catch (error) {
            return [error instanceof Error ? error.message.split('\n')[0] : String(error)]
          }
        })
        assert.deepEqual(failures, [])
        assertAlive(server, 'while PostgreSQL is frozen')
      })
      await t.test('while frozen: readiness 503 with the database down', async () => {
        const notReady = await call(server, 'GET', '/health/ready')
        assert.equal(notReady.status, 503, notReady.body)
        assert.deepEqual(JSON.parse(notReady.body), NOT_READY)
      })
    } finally {
      pg.thaw()
    }

    await eventually(
      async () => {
        const res = await call(server, 'GET', '/health/ready')
        return res.status === 200 ? res : undefined
      },
      { what: 'readiness 200 after PostgreSQL answers again' },
    )
    const again = await loginAt(server, 'frozen')
    assert.equal(again.status, 200, again.body)
  })
})

// Not every machine lets a test become the postgres user; this one must.
assert.equal(userInfo().uid, 0, 'these tests start a private PostgreSQL with runuser: run as root')
