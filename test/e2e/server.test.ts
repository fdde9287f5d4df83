// The real service as a child process on a real port: what `npm start` runs.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdir, readFile } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { type AddressInfo, createServer } from 'node:net'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { openStore } from '../../src/db/store.ts'
import { ROOT, TEST_ENV, tempDir } from '../support/harness.ts'
import { jsonPost } from '../support/http.ts'
import { parsed } from '../support/logs.ts'
import { type Server, startServer as startProcess } from '../support/processes.ts'
import { PASSWORD, READY } from '../support/requests.ts'

// This file covers the plain-HTTP path (TLS=off); test/e2e/tls.test.ts covers the default HTTPS one.
const startServer = (t: TestContext, env: Record<string, string> = {}) =>
  startProcess(t, { env: { TLS: 'off', ...env } })

/**
 * POSTs a registration with `Expect: 100-continue`: the server tells us it has the request before
 * it has the body, so SIGTERM deterministically arrives while the request is in flight. The body
 * is sent once the service has logged that it is closing.
 */
function registerDuringSigterm(
  server: Server,
  login: string,
  agent: Agent | false,
): Promise<{ status: number; body: string; connection: string }> {
  const payload = JSON.stringify({ login, password: PASSWORD })
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.base}/user/`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          expect: '100-continue',
        },
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            connection: `connection: ${res.headers.connection}`,
          }),
        )
      },
    )
    req.on('error', reject)
    req.on('continue', async () => {
      try {
        assert.ok(server.child.kill('SIGTERM'))
        const closing = await server.waitForLine((line) => line.includes('"signal":"SIGTERM"'))
        assert.match(parsed(closing).msg ?? '', /closing/)
        req.end(payload)
      } catch (error) {
        reject(error)
      }
    })
    req.flushHeaders()
  })
}

/** A port of 127.0.0.1 that something else holds for the rest of the test. */
async function takenPort(t: TestContext): Promise<number> {
  const holder = createServer()
  holder.listen(0, '127.0.0.1')
  await once(holder, 'listening')
  t.after(() => new Promise<void>((done) => holder.close(() => done())))
  return (holder.address() as AddressInfo).port
}

describe('usersvc serve (real process, real port)', () => {
  test('listens on the port it was given (0: any free one) and says where', async (t) => {
    const server = await startServer(t)
    assert.ok(server.port > 0)
    assert.match(server.stderr(), /database: sqlite:/)
    const live = await fetch(`${server.base}/health/live`)
    assert.equal(live.status, 200)
    assert.deepEqual(await live.json(), { status: 'ok' })
    const ready = await fetch(`${server.base}/health/ready`)
    assert.equal(ready.status, 200)
    assert.deepEqual(await ready.json(), READY)
  })

  test('the thread pool that hashes runs at HASH_THREAD_NICE; the event loop keeps its priority', async (t) => {
    const niceOf = async (pid: number) => {
      const threads: Array<[string, number]> = []
      for (const tid of await readdir(`/proc/${pid}/task`)) {
        const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8')
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
        // Fields after the command name start at field 3; nice is field 19.
        const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
        threads.push([comm, nice])
      }
      return threads
    }
    const pool = (threads: Array<[string, number]>) =>
      threads.filter(([comm]) => comm === 'libuv-worker').map(([, nice]) => nice)
    const main = (threads: Array<[string, number]>) =>
      threads.filter(([comm]) => comm === 'MainThread').map(([, nice]) => nice)

    const byDefault = await startServer(t)
    await byDefault.waitForLine((line) => line.includes('thread pool priority lowered'))
    const threads = await niceOf(byDefault.child.pid as number)
    assert.ok(pool(threads).length >= 4, JSON.stringify(threads))
    assert.deepEqual(new Set(pool(threads)), new Set([10]))
    assert.deepEqual(main(threads), [0])

    const untouched = await startServer(t, { HASH_THREAD_NICE: '0' })
    await untouched.waitForLine((line) => line.includes('thread pool priority lowered'))
    assert.deepEqual(new Set(pool(await niceOf(untouched.child.pid as number))), new Set([0]))
  })

  test('register, log in, and GET /user/me with the bearer token', async (t) => {
    const server = await startServer(t)
    const created = await fetch(
      `${server.base}/user/`,
      jsonPost({ login: 'Иван', password: PASSWORD }),
    )
    assert.equal(created.status, 201)
    const user = (await created.json()) as { id: string; login: string; role: string }
    assert.equal(user.login, 'Иван')
    assert.equal(user.role, 'user')
    assert.equal(created.headers.get('location'), `/user/${user.id}`)

    const session = await fetch(
      `${server.base}/session/`,
      jsonPost({ login: 'иван', password: PASSWORD }),
    )
    assert.equal(session.status, 200)
    assert.equal(session.headers.get('cache-control'), 'no-store')
    const tokens = (await session.json()) as { access_token: string; token_type: string }
    assert.equal(tokens.token_type, 'Bearer')

    const me = await fetch(`${server.base}/user/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    })
    assert.equal(me.status, 200)
    const body = (await me.json()) as { id: string; login: string }
    assert.equal(body.id, user.id)
    assert.equal(body.login, 'Иван')

    const anonymous = await fetch(`${server.base}/user/me`)
    assert.equal(anonymous.status, 401)
    assert.equal(anonymous.headers.get('content-type'), 'application/problem+json; charset=utf-8')

    // The log on stdout: one JSON document per line, one line per request, no secrets.
    // Matched on the parsed line: the 200 line may hold "401" too (in a response time, say).
    await server.waitForLine((line) => {
      const l = parsed(line)
      return l.msg === 'request' && l.url === '/user/me' && l.status === 401
    })
    for (const line of server.stdout) {
      assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`)
    }
    const requests = server.stdout.map(parsed).filter((l) => l.msg === 'request')
    assert.deepEqual(
      requests.map((l) => [l.url, l.status]),
      [
        ['/user/', 201],
        ['/session/', 200],
        ['/user/me', 200],
        ['/user/me', 401],
      ],
    )
    const log = server.stdout.join('\n')
    assert.ok(!log.includes(PASSWORD), 'the password is not logged')
    assert.ok(!log.includes(tokens.access_token), 'the access token is not logged')
  })

  test('SIGTERM lets a request in flight finish, then exits 0 with the data on disk', async (t) => {
    const server = await startServer(t)
    const { status, body } = await registerDuringSigterm(server, 'draining', false)
    assert.equal(status, 201, body)
    assert.equal((JSON.parse(body) as { login: string }).login, 'draining')

    assert.deepEqual(await server.exited, { code: 0, signal: null })
    for (const line of server.stdout) {
      assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`)
    }
    assert.ok(
      server.stdout.map(parsed).some((l) => l.msg === 'request' && l.status === 201),
      'the drained request is logged',
    )

    const store = openStore(server.databaseUrl)
    t.after(() => store.destroy())
    const rows = await store.db.selectFrom('users').select(['login', 'login_key']).execute()
    assert.deepEqual(
      rows.map((r) => [r.login, r.login_key]),
      [['draining', 'draining']],
    )
  })

  test('after draining, an idle keep-alive connection does not hold the shutdown open', async (t) => {
    // Browsers, fetch (undici) and nginx keep connections open for as long as the server's
    // keep-alive hint allows: the service has to close them itself once its requests are done.
    const agent = new Agent({ keepAlive: true, timeout: 120_000 })
    t.after(() => agent.destroy())
    const server = await startServer(t)
    const { status, body, connection } = await registerDuringSigterm(server, 'kept', agent)
    assert.equal(status, 201, body)
    assert.deepEqual(await server.exited, { code: 0, signal: null }, connection)
  })

  test('SIGINT (Ctrl-C) closes it cleanly too', async (t) => {
    const server = await startServer(t)
    assert.equal((await fetch(`${server.base}/health/live`)).status, 200)
    assert.ok(server.child.kill('SIGINT'))
    assert.deepEqual(await server.exited, { code: 0, signal: null })
    const closing = server.stdout.map(parsed).find((l) => l.signal === 'SIGINT')
    assert.ok(closing, server.stdout.join('\n'))
  })

  test('a bad configuration stops it at once, naming the variable', async (t) => {
    const child = spawn(process.execPath, ['src/cli.ts', 'serve'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: 'abc' },
    })
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.equal(code, 1)
    assert.match(stderr, /PORT/)
  })

  test('a port already taken: it exits 1 naming EADDRINUSE, and never says it listens', async (t) => {
    const port = await takenPort(t)
    const child = spawn(process.execPath, ['src/cli.ts', 'serve'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...TEST_ENV,
        DATABASE_URL: `sqlite:${join(await tempDir(t), 'usersvc.db')}`,
        TLS: 'off',
        HOST: '127.0.0.1',
        PORT: String(port),
        METRICS_PORT: '0',
      },
    })
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.stdout.resume()
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.equal(code, 1, stderr)
    assert.match(stderr, /EADDRINUSE/)
    assert.doesNotMatch(stderr, /usersvc is listening/)
  })

  test('a metrics port already taken: the service still serves, and logs why metrics are off', async (t) => {
    const metricsPort = await takenPort(t)
    const server = await startServer(t, { METRICS_PORT: String(metricsPort) })
    const live = await fetch(`${server.base}/health/live`)
    assert.equal(live.status, 200)
    const line = await server.waitForLine((l) => /metrics listener could not start/.test(l))
    const logged = JSON.parse(line) as { level: number; port: number; code?: string }
    // A warning in one line, not an error with a stack trace: the service works as configured.
    assert.equal(logged.level, 40, line)
    assert.equal(logged.port, metricsPort, line)
    assert.equal(logged.code, 'EADDRINUSE', line)
    assert.doesNotMatch(line, /stack|\\n\s+at /, line)
    assert.ok(!server.stdout.some((l) => /metrics listening/.test(l)), server.stdout.join('\n'))
    // The person at the terminal is told too, with what to do about it.
    assert.match(
      server.stderr(),
      new RegExp(`metrics: +off: 127\\.0\\.0\\.1:${metricsPort} is in use`),
    )
    assert.match(server.stderr(), /set METRICS_PORT/)
  })
})
