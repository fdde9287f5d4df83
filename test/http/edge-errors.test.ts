// Errors answered before (or instead of) Fastify's routing, over real sockets: HTTP/1.1 requests
// Node's parser refuses (plain HTTP, and the HTTP/1.1 fallback of HTTPS), HTTP/2 requests with a
// method no route can have, and HTTP/2 refusals that must not make Node warn about headers.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { catalogue } from '../../src/errors.ts'
import { loadTlsCredentials } from '../../src/tls/credentials.ts'
import { HSTS } from '../../src/tls/policy.ts'
import { patiently } from '../support/eventually.ts'
import { type Harness, makeApp, tempDir } from '../support/harness.ts'
import { http2Request, type Reply } from '../support/http.ts'
import { assertProblem } from '../support/problems.ts'
import { startServer } from '../support/processes.ts'
import { rawConnect, rawExchange } from '../support/raw-http.ts'
import { PASSWORD } from '../support/requests.ts'

/** The headers every error of the service carries besides its own. */
const SECURITY = [
  'cache-control',
  'x-content-type-options',
  'content-security-policy',
  'referrer-policy',
]

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

/** A problem document of the catalogue with `status` and `code`, and the service's headers. */
function assertProblemReply(
  reply: Reply,
  status: number,
  code: keyof typeof catalogue,
  reference: Reply,
  what: string,
): void {
  assertProblem(reply, status, code, what)
  for (const name of [...SECURITY, 'strict-transport-security']) {
    assert.equal(reply.headers[name], reference.headers[name], `${name}: ${what}`)
  }
  assert.match(String(reply.headers['x-request-id']), /^[\w.:-]{1,128}$/, what)
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
      const reference = await rawExchange(
        await rawConnect(t, served.port, served.ca),
        'GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      )
      assert.equal(reference.statusCode, 404, reference.body)
      for (const name of SECURITY) assert.ok(reference.headers[name], name)
      assert.equal(reference.headers['strict-transport-security'], secure ? HSTS : undefined)

      for (const { what, request, status, code } of MALFORMED) {
        const reply = await rawExchange(await rawConnect(t, served.port, served.ca), request)
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
      const reference = await rawExchange(
        await rawConnect(t, served.port, served.ca),
        'GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      )
      // The header section never ends: Node's headers timeout answers it.
      const reply = await rawExchange(
        await rawConnect(t, served.port, served.ca),
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
      http2Request(session, { ':method': method, ':path': path })

    const reference = await request('GET', '/nope')
    assert.equal(reference.statusCode, 404, reference.body)
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
    assert.equal((await request('GET', '/health/live')).statusCode, 200)
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
      http2Request(
        session,
        { ':method': 'POST', ':path': '/user/', 'content-type': contentType },
        Buffer.from(body),
      )
    const big = JSON.stringify({ login: 'alice', password: 'p'.repeat(20 * 1024) })
    assert.equal((await post(big)).statusCode, 413)
    assert.equal((await post('{"login":')).statusCode, 400)
    assert.equal((await post('{}', 'text/plain')).statusCode, 415)
    // And the service still answers on the same session.
    const ok = await post(JSON.stringify({ login: 'alice', password: PASSWORD }))
    assert.equal(ok.statusCode, 201, ok.body)
    // A warning is written to stderr (a pipe: synchronously) before the reply leaves; the pause
    // only lets this process read what is already there.
    await sleep(500)
    assert.doesNotMatch(server.stderr(), /Warning/)
    assert.deepEqual(warnings(server.stdout), [])
  })
})
