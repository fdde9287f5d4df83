// Graceful shutdown under load: SIGTERM while many registrations and logins are in flight. Every
// request the service accepted before the signal gets a proper answer, the process exits 0, and
// every registration answered 201 is in the database afterwards.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import * as http from 'node:http'
import * as http2 from 'node:http2'
import * as https from 'node:https'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { openStore } from '../../src/db/store.ts'
import { type DialectName, dialects, freshDatabaseUrl } from '../support/harness.ts'
import { type Server, startServer } from '../support/processes.ts'
import { PASSWORD } from '../support/requests.ts'

type Protocol = 'http' | 'https' | 'h2'

/** Registrations and logins in flight at the signal (each). */
const EACH = 40
/** Accounts the logins are for (registered before the load). */
const ACCOUNTS = 8

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A POST whose headers are sent (and acknowledged with 100 Continue) before its body. */
interface Held {
  what: string
  /** Resolves when the service has answered 100 Continue: it has the request. */
  accepted: Promise<void>
  /** Sends the body; resolves once it is written. */
  send(): Promise<void>
  answer: Promise<Answer>
}

interface Client {
  hold(path: string, body: unknown, what: string): Held
  /** A plain request on a new connection. */
  fresh(path: string, body: unknown): Promise<Answer>
  close(): void
}

function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** HTTP/1.1 (plain or TLS): one connection per request, as many clients behind one service. */
function http1Client(server: Server, ca: string | undefined): Client {
  const request = (path: string, payload: string, expect: boolean) => {
    const answer = deferred<Answer>()
    const options: https.RequestOptions = {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        ...(expect ? { expect: '100-continue' } : {}),
      },
      ...(ca ? { ca } : {}),
    }
    const onResponse = (res: http.IncomingMessage) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () =>
        answer.resolve({ status: res.statusCode ?? 0, headers: res.headers, body }),
      )
      res.on('error', answer.reject)
    }
    const url = `${server.base}${path}`
    const req = ca
      ? https.request(url, options, onResponse)
      : http.request(url, options, onResponse)
    req.on('error', answer.reject)
    return { req, answer: answer.promise }
  }
  return {
    hold(path, body, what) {
      const payload = JSON.stringify(body)
      const { req, answer } = request(path, payload, true)
      const accepted = deferred<void>()
      req.on('continue', () => accepted.resolve())
      req.on('error', accepted.reject)
      req.flushHeaders()
      return {
        what,
        accepted: accepted.promise,
        send: () => new Promise<void>((resolve) => req.end(payload, resolve)),
        answer,
      }
    },
    fresh(path, body) {
      const payload = JSON.stringify(body)
      const { req, answer } = request(path, payload, false)
      req.end(payload)
      return answer
    },
    close() {},
  }
}

/** HTTP/2: streams multiplexed over a few sessions. */
function http2Client(server: Server, ca: string): Client {
  const sessions = [0, 1].map(() => http2.connect(server.base, { ca }))
  // A session error surfaces on its streams; this keeps it from being an uncaught one.
  for (const session of sessions) session.on('error', () => {})
  let next = 0
  const stream = (
    session: http2.ClientHttp2Session,
    path: string,
    payload: string,
    expect: boolean,
  ) => {
    const answer = deferred<Answer>()
    const s = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
      ...(expect ? { expect: '100-continue' } : {}),
    })
    let status = 0
    let headers: Answer['headers'] = {}
    let body = ''
    s.on('response', (h) => {
      status = Number(h[':status'])
      headers = h
    })
    s.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk
    })
    s.on('end', () => answer.resolve({ status, headers, body }))
    s.on('error', answer.reject)
    s.on('close', () => {
      if (s.rstCode) answer.reject(new Error(`stream reset with code ${s.rstCode}`))
    })
    return { s, answer: answer.promise }
  }
  return {
    hold(path, body, what) {
      const payload = JSON.stringify(body)
      const session = sessions[next++ % sessions.length] as http2.ClientHttp2Session
      const { s, answer } = stream(session, path, payload, true)
      const accepted = deferred<void>()
      s.on('continue', () => accepted.resolve())
      s.on('error', accepted.reject)
      return {
        what,
        accepted: accepted.promise,
        send: () => new Promise<void>((resolve) => s.end(payload, resolve)),
        answer,
      }
    },
    fresh(path, body) {
      const session = http2.connect(server.base, { ca })
      session.on('error', () => {})
      const payload = JSON.stringify(body)
      const { s, answer } = stream(session, path, payload, false)
      s.end(payload)
      return answer.finally(() => session.close())
    },
    close() {
      for (const session of sessions) session.destroy()
    },
  }
}

async function start(t: TestContext, protocol: Protocol, databaseUrl: string) {
  const server = await startServer(t, {
    databaseUrl,
    env: {
      ...(protocol === 'http' ? { TLS: 'off' } : {}),
      METRICS_PORT: '0',
      // Hashes that take a moment, so the load is still being worked on at the signal.
      ARGON2_MEMORY_KIB: '19456',
      ARGON2_TIME_COST: '2',
      // Every request queued before the signal must be worked off, not refused as overload.
      HASH_QUEUE_MAX_WAIT_MS: '60000',
      // The draining must fit in the 10 s grace even while the test file beside this one keeps
      // the cores busy: its hashes compete at normal priority, not at nice 10.
      HASH_THREAD_NICE: '0',
    },
  })
  const ca = protocol === 'http' ? undefined : await readFile(join(server.tlsDir, 'ca.crt'), 'utf8')
  const client = protocol === 'h2' ? http2Client(server, ca as string) : http1Client(server, ca)
  t.after(() => client.close())
  return { server, client }
}

/** A socket error code, directly (HTTP/1) or as the cause of a cancelled stream (HTTP/2). */
const socketError = (error: unknown, code: string): boolean => {
  const e = error as { code?: string; cause?: { code?: string } }
  return e?.code === code || e?.cause?.code === code
}

/**
 * The service stops listening a moment after it logs that it is closing: tries a new connection
 * (a bounded number of times) until one is refused.
 */
async function refusedSoon(client: Client): Promise<boolean> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await client.fresh('/health/live', {})
    } catch (error) {
      if (socketError(error, 'ECONNREFUSED')) return true
      // Caught mid-close, not refused: reset in the kernel's backlog as the listener closed
      // (ECONNRESET), or an HTTP/2 session the service had accepted and then sent GOAWAY
      // (REFUSED_STREAM, GOAWAY_SESSION). Try again; a service that never refuses still fails.
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

interface LogLine {
  level?: number
  msg?: string
  url?: string
  status?: number
}

async function sigtermUnderLoad(t: TestContext, protocol: Protocol, dialect: DialectName) {
  const databaseUrl = await freshDatabaseUrl(t, dialect)
  const { server, client } = await start(t, protocol, databaseUrl)
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `account${i}`)
  for (const login of accounts) {
    const res = await client.fresh('/user/', { login, password: PASSWORD })
    assert.equal(res.status, 201, res.body)
  }

  // Registrations and logins, interleaved; every one held at 100 Continue.
  const held: Held[] = []
  for (let i = 0; i < EACH; i++) {
    held.push(
      client.hold('/user/', { login: `drain${i}`, password: PASSWORD }, `register drain${i}`),
    )
    const account = accounts[i % ACCOUNTS] as string
    held.push(client.hold('/session/', { login: account, password: PASSWORD }, `login ${account}`))
  }
  await Promise.all(held.map((h) => h.accepted))

  // Half the bodies go before the signal (their hashes are running when it lands), half after
  // the service has said it is closing.
  const before = held.filter((_, i) => i % 4 < 2)
  const after = held.filter((_, i) => i % 4 >= 2)
  await Promise.all(before.map((h) => h.send()))
  assert.ok(server.child.kill('SIGTERM'))
  await server.waitForLine((line) => line.includes('"signal":"SIGTERM"'))
  // While the held requests wait, the listener closes: new connections are refused.
  assert.ok(await refusedSoon(client), 'new connections are refused once closing has begun')
  await Promise.all(after.map((h) => h.send()))

  const settled = await Promise.allSettled(held.map((h) => h.answer))
  const failures = settled.flatMap((s, i) =>
    s.status === 'rejected' ? [`${held[i]?.what}: ${(s.reason as Error).message}`] : [],
  )
  assert.deepEqual(failures, [], 'every request accepted before SIGTERM is answered')
  const answers = settled.map((s) => (s as PromiseFulfilledResult<Answer>).value)
  answers.forEach((answer, i) => {
    const what = held[i]?.what ?? ''
    const expected = what.startsWith('register') ? 201 : 200
    assert.equal(answer.status, expected, `${what}: ${answer.body}`)
    assert.match(String(answer.headers['content-type']), /^application\/json/, what)
    assert.doesNotThrow(() => JSON.parse(answer.body), what)
    // HTTP/1.1 clients are told to let go of the connection while the service drains.
    if (protocol !== 'h2' && after.includes(held[i] as Held)) {
      assert.equal(answer.headers.connection, 'close', what)
    }
  })

  assert.deepEqual(await server.exited, { code: 0, signal: null })
  const lines = server.stdout.map((line) => JSON.parse(line) as LogLine)
  assert.deepEqual(
    lines.filter((l) => (l.level ?? 0) >= 50),
    [],
    'nothing went wrong on the way out',
  )
  assert.equal(
    lines.filter((l) => l.msg === 'request' && (l.url === '/user/' || l.url === '/session/'))
      .length,
    ACCOUNTS + held.length,
    'one log line per request',
  )

  const store = openStore(databaseUrl)
  t.after(() => store.destroy())
  const rows = await store.db.selectFrom('users').select('login').execute()
  const stored = new Set(rows.map((r) => r.login))
  const registered = held.filter((h) => h.what.startsWith('register'))
  assert.deepEqual(
    registered.map((h) => h.what.slice('register '.length)).filter((l) => !stored.has(l)),
    [],
    'every 201 is in the database',
  )
  assert.equal(stored.size, ACCOUNTS + registered.length)
}

describe('SIGTERM under load', { timeout: 120_000 }, () => {
  for (const dialect of dialects()) {
    test(`plain HTTP/1.1 (${dialect})`, (t) => sigtermUnderLoad(t, 'http', dialect))
  }
  test('HTTPS, HTTP/1.1 (sqlite)', (t) => sigtermUnderLoad(t, 'https', 'sqlite'))
  test('HTTPS, HTTP/2 (sqlite)', (t) => sigtermUnderLoad(t, 'h2', 'sqlite'))
})
