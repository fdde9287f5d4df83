// Errors answered before (or instead of) Fastify's routing, over real sockets: HTTP/1.1 requests
// Node's parser refuses (plain HTTP, and the HTTP/1.1 fallback of HTTPS), HTTP/2 requests with a
// method no route can have, and HTTP/2 refusals that must not make Node warn about headers.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import http2 from 'node:http2'
import { type AddressInfo, type Socket, connect as tcpConnect } from 'node:net'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect as tlsConnect } from 'node:tls'
import { catalogue } from '../../src/errors.ts'
import { loadTlsCredentials } from '../../src/tls/credentials.ts'
import { HSTS } from '../../src/tls/policy.ts'
import { PATIENCE_MS } from '../support/eventually.ts'
import { type Harness, makeApp, tempDir } from '../support/harness.ts'
import { PROBLEM_JSON } from '../support/problems.ts'
import { startServer } from '../support/processes.ts'
import { PASSWORD } from '../support/requests.ts'

/** The headers every error of the service carries besides its own. */
const SECURITY = [
  'cache-control',
  'x-content-type-options',
  'content-security-policy',
  'referrer-policy',
]
const PROBLEM_KEYS = ['code', 'detail', 'errors', 'status', 'title', 'type']

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

interface Served extends Harness {
  port: number
  /** The local CA's certificate, when the app serves HTTPS. */
  ca?: string
}

/** The app on a real port of 127.0.0.1: plain HTTP, or HTTPS (HTTP/2 + HTTP/1.1). */
async function serve(
  t: TestContext,
  secure: boolean,
  env: Record<string, string> = {},
): Promise<Served> {
  const tls = secure
    ? await loadTlsCredentials({ enabled: true, dir: await tempDir(t), sans: [] })
    : undefined
  const harness = await makeApp(t, { tls, env })
  await harness.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = harness.app.server.address() as AddressInfo
  const ca = tls?.local ? await readFile(tls.local.caPath, 'utf8') : undefined
  return { ...harness, port, ca }
}

function patiently<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    sleep(PATIENCE_MS, undefined, { ref: false }).then(() => {
      throw new Error(`no ${what} within ${PATIENCE_MS} ms`)
    }),
  ])
}

/** A new connection that speaks HTTP/1.1: plain TCP, or TLS with ALPN http/1.1. */
async function http1Socket(t: TestContext, served: Served): Promise<Socket> {
  const socket = served.ca
    ? tlsConnect({
        host: '127.0.0.1',
        port: served.port,
        servername: 'localhost',
        ca: served.ca,
        ALPNProtocols: ['http/1.1'],
      })
    : tcpConnect(served.port, '127.0.0.1')
  t.after(() => socket.destroy())
  await patiently(once(socket, served.ca ? 'secureConnect' : 'connect'), 'connection')
  return socket
}

/**
 * Sends `request` as is and reads until the server closes the connection (the client never ends
 * its side, so the close is the server's): the reply parsed.
 */
async function exchange(socket: Socket, request: string): Promise<Reply> {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  // The server may reset the connection after its reply (request bytes it never read): the
  // reply is still what arrived before.
  socket.on('error', () => {})
  const closed = new Promise((done) => socket.once('close', done))
  socket.write(request)
  await patiently(closed, 'close of the connection by the server')
  const text = Buffer.concat(chunks).toString('latin1')
  const head = text.slice(0, text.indexOf('\r\n\r\n'))
  const [statusLine = '', ...lines] = head.split('\r\n')
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]
  assert.ok(status, `no HTTP/1.1 status line in ${JSON.stringify(text.slice(0, 300))}`)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(status), headers, body: text.slice(head.length + 4) }
}

/** A problem document of the catalogue with `status` and `code`, and the service's headers. */
function assertProblemReply(
  reply: Reply,
  status: number,
  code: keyof typeof catalogue,
  reference: Reply,
  what: string,
): void {
  const where = `${what}: ${reply.status} ${JSON.stringify(reply.headers)} ${reply.body}`
  assert.equal(reply.status, status, where)
  assert.equal(reply.headers['content-type'], PROBLEM_JSON, where)
  const problem = JSON.parse(reply.body) as Record<string, unknown>
  for (const key of Object.keys(problem)) assert.ok(PROBLEM_KEYS.includes(key), `${key}: ${where}`)
  assert.equal(problem.type, `/problems/${code}`, where)
  assert.equal(problem.title, catalogue[code].title, where)
  assert.equal(problem.status, status, where)
  assert.equal(problem.code, code, where)
  if ('detail' in problem) assert.equal(typeof problem.detail, 'string', where)
  for (const name of [...SECURITY, 'strict-transport-security']) {
    assert.equal(reply.headers[name], reference.headers[name], `${name}: ${where}`)
  }
  assert.match(String(reply.headers['x-request-id']), /^[\w.:-]{1,128}$/, where)
}

/** Log lines at warn (40) or above. */
function warnings(logs: string[]): string[] {
  return logs.filter((line) => (JSON.parse(line) as { level: number }).level >= 40)
}

const HUGE_URL = `/user/${'a'.repeat(65 * 1024)}`

/** Requests Node's HTTP/1.1 parser refuses, and the answer each gets. */
const MALFORMED: Array<{
  what: string
  request: string
  status: number
  code: keyof typeof catalogue
}> = [
  {
    what: 'an unknown method',
    request: 'BREW /user/me HTTP/1.1\r\nHost: localhost\r\n\r\n',
    status: 400,
    code: 'bad_request',
  },
  {
    what: 'a control character in a header value',
    request: 'GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Note: a\u0001b\r\n\r\n',
    status: 400,
    code: 'bad_request',
  },
  {
    what: 'a space in a header name',
    request: 'GET /health/live HTTP/1.1\r\nHost: localhost\r\nX Note: ab\r\n\r\n',
    status: 400,
    code: 'bad_request',
  },
  {
    what: 'a URL over 64 KiB',
    request: `GET ${HUGE_URL} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
    status: 431,
    code: 'headers_too_large',
  },
  {
    what: 'header fields over 16 KiB',
    request: `GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(20 * 1024)}\r\n\r\n`,
    status: 431,
    code: 'headers_too_large',
  },
]

describe('errors before routing are problem documents too', () => {
  for (const secure of [false, true]) {
    const scheme = secure ? 'HTTPS (HTTP/1.1 by ALPN)' : 'plain HTTP'
    test(`HTTP/1.1 requests the parser refuses (${scheme}): problem document, security headers, connection closed`, async (t) => {
      const served = await serve(t, secure)
      // What the service sends with an ordinary error, for the headers every error carries.
      const reference = await exchange(
        await http1Socket(t, served),
        'GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      )
      assert.equal(reference.status, 404, reference.body)
      for (const name of SECURITY) assert.ok(reference.headers[name], name)
      assert.equal(reference.headers['strict-transport-security'], secure ? HSTS : undefined)

      for (const { what, request, status, code } of MALFORMED) {
        const reply = await exchange(await http1Socket(t, served), request)
        assertProblemReply(reply, status, code, reference, what)
        assert.equal(reply.headers.connection, 'close', what)
        assert.equal(Number(reply.headers['content-length']), Buffer.byteLength(reply.body), what)
        assert.ok(reply.headers.date, `${what}: a 4xx carries Date (RFC 9110 §6.6.1)`)
        // One log line at info names it, with the request id the client saw.
        const id = reply.headers['x-request-id']
        const line = served.logs
          .map((l) => JSON.parse(l) as { reqId?: string; status?: number; level: number })
          .find((l) => l.reqId === id)
        assert.equal(line?.status, status, `${what}: log line ${JSON.stringify(line)}`)
        assert.equal(line?.level, 30, what)
      }
      assert.deepEqual(warnings(served.logs), [])
    })

    test(`HTTP/1.1 headers that do not arrive in time (${scheme}): 408 problem document, connection closed`, async (t) => {
      const served = await serve(t, secure, { HEADERS_TIMEOUT_SECONDS: '1' })
      const reference = await exchange(
        await http1Socket(t, served),
        'GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      )
      // The header section never ends: Node's headers timeout answers it.
      const reply = await exchange(
        await http1Socket(t, served),
        'GET /health/live HTTP/1.1\r\nHost: localhost\r\n',
      )
      assertProblemReply(reply, 408, 'request_timeout', reference, 'slow headers')
      assert.equal(reply.headers.connection, 'close')
      assert.deepEqual(warnings(served.logs), [])
    })
  }

  test('HTTP/2 with a method no route has: 405 with Allow where the path exists, else 404; no warning logged', async (t) => {
    const served = await serve(t, true)
    const session = http2.connect(`https://localhost:${served.port}`, { ca: served.ca })
    t.after(() => session.destroy())
    await patiently(once(session, 'connect'), 'HTTP/2 session')
    assert.equal(session.alpnProtocol, 'h2')
    const request = (method: string, path: string) =>
      new Promise<Reply>((done, fail) => {
        const stream = session.request({ ':method': method, ':path': path })
        let headers: http2.IncomingHttpHeaders = {}
        let body = ''
        stream.on('response', (h) => {
          headers = h
        })
        stream.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk
        })
        stream.on('end', () => done({ status: Number(headers[':status']), headers, body }))
        stream.on('error', fail)
      })

    const reference = await request('GET', '/nope')
    assert.equal(reference.status, 404, reference.body)
    assert.equal(reference.headers['strict-transport-security'], HSTS)
    const cases: Array<[string, string, number, keyof typeof catalogue, string | undefined]> = [
      ['BREW', '/user/me', 405, 'method_not_allowed', 'DELETE, GET, HEAD'],
      ['BREW', '/health/live', 405, 'method_not_allowed', 'GET, HEAD'],
      [
        'FROB',
        '/user/01a2008d-2e29-7252-ac0e-b2345badb6bc',
        405,
        'method_not_allowed',
        'DELETE, GET, HEAD',
      ],
      ['BREW', '/nope', 404, 'not_found', undefined],
      // A method Node knows but no route has: the same answers, by Fastify's own not-found path.
      ['PURGE', '/user/me', 405, 'method_not_allowed', 'DELETE, GET, HEAD'],
    ]
    for (const [method, path, status, code, allow] of cases) {
      const what = `${method} ${path}`
      const reply = await request(method, path)
      assertProblemReply(reply, status, code, reference, what)
      assert.equal(reply.headers.allow, allow, what)
      assert.equal(reply.headers.connection, undefined, what)
    }
    // The session is still usable afterwards.
    assert.equal((await request('GET', '/health/live')).status, 200)
    assert.deepEqual(warnings(served.logs), [])
    const lines = served.logs.map((l) => JSON.parse(l) as { method?: string; status?: number })
    assert.ok(
      lines.some((l) => l.method === 'BREW' && l.status === 405),
      'BREW is logged',
    )
  })

  test('HTTP/2 refusals of a body (413, malformed JSON, 415) print no warning: no Connection header on HTTP/2', async (t) => {
    const server = await startServer(t)
    assert.match(server.base, /^https:/)
    const ca = await readFile(`${server.tlsDir}/ca.crt`, 'utf8')
    const session = http2.connect(server.base, { ca })
    t.after(() => session.destroy())
    await patiently(once(session, 'connect'), 'HTTP/2 session')
    const post = (body: string, contentType = 'application/json') =>
      new Promise<Reply>((done, fail) => {
        const stream = session.request({
          ':method': 'POST',
          ':path': '/user/',
          'content-type': contentType,
        })
        let headers: http2.IncomingHttpHeaders = {}
        let text = ''
        stream.on('response', (h) => {
          headers = h
        })
        stream.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk
        })
        stream.on('end', () => done({ status: Number(headers[':status']), headers, body: text }))
        stream.on('error', fail)
        stream.end(body)
      })
    const big = JSON.stringify({ login: 'alice', password: 'p'.repeat(20 * 1024) })
    assert.equal((await post(big)).status, 413)
    assert.equal((await post('{"login":')).status, 400)
    assert.equal((await post('{}', 'text/plain')).status, 415)
    // And the service still answers on the same session.
    const ok = await post(JSON.stringify({ login: 'alice', password: PASSWORD }))
    assert.equal(ok.status, 201, ok.body)
    // A warning is written to stderr (a pipe: synchronously) before the reply leaves; the pause
    // only lets this process read what is already there.
    await sleep(500)
    assert.doesNotMatch(server.stderr(), /Warning/)
    assert.deepEqual(warnings(server.stdout), [])
  })
})
