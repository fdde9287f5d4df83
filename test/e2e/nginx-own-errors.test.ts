// The errors real nginx answers itself, before anything is proxied (a malformed request, a request
// line or header fields too large, TRACE, plain HTTP on the HTTPS port), are RFC 9457 problem
// documents with the service's headers, on the HTTPS listener and on the plain one; a request
// that is fine still reaches the service.
import assert from 'node:assert/strict'
import http2 from 'node:http2'
import { describe, type TestContext, test } from 'node:test'
import { AppError, type ErrorCode, toProblem } from '../../src/errors.ts'
import { patiently } from '../support/eventually.ts'
import { http2Request, type Reply } from '../support/http.ts'
import { edgeFixture, HSTS, inProcessService } from '../support/nginx.ts'
import { assertProblem } from '../support/problems.ts'
import { rawConnect, rawExchange } from '../support/raw-http.ts'

/** The headers the service's own errors carry (src/http/headers.ts), nginx's too. */
const SECURITY = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
}

interface Edge {
  httpsPort: number
  httpPort: number
  ca: string
  /** Requests the service behind nginx logged, by URL. */
  served(): string[]
}

/**
 * nginx (scripts/proxy.ts, the real template) in front of the service in this process, over TLS
 * on both hops; stopped (nginx -s quit) after the test, before the service closes.
 */
async function edge(t: TestContext): Promise<Edge> {
  const nginx = await edgeFixture(t)
  const service = await inProcessService(t, nginx.tlsDir)
  await nginx.start([service.upstream])
  const served = () =>
    service.logs
      .map((line) => JSON.parse(line) as { msg?: string; url?: string })
      .filter((l) => l.msg === 'request')
      .map((l) => l.url ?? '')
  return { httpsPort: nginx.httpsPort, httpPort: nginx.httpPort, ca: await nginx.caPem(), served }
}

/** The problem document the service itself would send for `code`, with its headers. */
function assertNginxProblem(
  reply: Reply,
  status: number,
  code: ErrorCode,
  hsts: boolean,
  what: string,
) {
  assertProblem(reply, status, code, what, { byNginx: true })
  assert.deepEqual(JSON.parse(reply.body), toProblem(new AppError(code)), what)
  for (const [name, value] of Object.entries(SECURITY)) {
    assert.equal(reply.headers[name], value, `${name}: ${what}`)
  }
  assert.equal(reply.headers['strict-transport-security'], hsts ? HSTS : undefined, what)
}

const LONG_URL = `/user/${'a'.repeat(9 * 1024)}`

/** Requests nginx refuses itself: what is sent, and the problem that must come back. */
const REFUSED: Array<{ what: string; request: string; status: number; code: ErrorCode }> = [
  {
    what: 'no Host header',
    request: 'GET /health/live HTTP/1.1\r\n\r\n',
    status: 400,
    code: 'bad_request',
  },
  {
    what: 'a malformed request line',
    request: 'G@T /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n',
    status: 400,
    code: 'bad_request',
  },
  {
    what: 'two Host headers',
    request: 'GET /health/live HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n',
    status: 400,
    code: 'bad_request',
  },
  {
    what: 'an unknown transfer coding (501 in nginx)',
    request: 'POST /user/ HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n',
    status: 400,
    code: 'bad_request',
  },
  {
    what: 'an HTTP version other than 1.x (505 in nginx)',
    request: 'GET /health/live HTTP/2.0\r\nHost: localhost\r\n\r\n',
    status: 400,
    code: 'bad_request',
  },
  {
    what: 'TRACE',
    request: 'TRACE /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n',
    status: 405,
    code: 'method_not_allowed',
  },
  {
    what: 'a request line over 8 KiB (414 in nginx)',
    request: `GET ${LONG_URL} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
    status: 431,
    code: 'headers_too_large',
  },
  {
    what: 'a header field over 8 KiB (494 in nginx)',
    request: `GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(9 * 1024)}\r\n\r\n`,
    status: 431,
    code: 'headers_too_large',
  },
]

describe('nginx answers its own errors with problem documents (real nginx)', () => {
  test('HTTPS listener: malformed, too large, TRACE, plain HTTP; none reaches the service', async (t) => {
    const nginx = await edge(t)
    // Control: an ordinary request goes through to the service.
    const ok = await rawExchange(
      await rawConnect(t, nginx.httpsPort, nginx.ca),
      'GET /health/live?probe=ok HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    )
    assert.equal(ok.statusCode, 200, ok.body)
    assert.deepEqual(nginx.served(), ['/health/live?probe=ok'])

    for (const { what, request, status, code } of REFUSED) {
      const reply = await rawExchange(await rawConnect(t, nginx.httpsPort, nginx.ca), request)
      assertNginxProblem(reply, status, code, true, what)
      assert.equal(reply.headers.connection, 'close', what)
    }

    // Plain HTTP sent to the HTTPS port (497 in nginx): answered in clear, so without HSTS.
    const plain = await rawExchange(
      await rawConnect(t, nginx.httpsPort, undefined),
      'GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n',
    )
    assertNginxProblem(plain, 400, 'bad_request', false, 'plain HTTP on the HTTPS port')

    // nginx's internal location for these answers cannot be asked for directly.
    const direct = await rawExchange(
      await rawConnect(t, nginx.httpsPort, nginx.ca),
      'GET /.problem HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    )
    assertNginxProblem(direct, 404, 'not_found', true, 'GET /.problem')

    // Over HTTP/2 as well.
    const session = http2.connect(`https://localhost:${nginx.httpsPort}`, { ca: nginx.ca })
    t.after(() => session.destroy())
    await patiently(new Promise((done) => session.once('connect', done)), 'HTTP/2 session')
    const trace = await http2Request(session, { ':method': 'TRACE', ':path': '/health/live' })
    assertNginxProblem(trace, 405, 'method_not_allowed', true, 'TRACE over HTTP/2')
    session.close()

    assert.deepEqual(nginx.served(), ['/health/live?probe=ok'], 'nothing refused was proxied')
  })

  test('plain listener: its own errors are problem documents too (no HSTS); the rest is redirected', async (t) => {
    const nginx = await edge(t)
    const redirect = await rawExchange(
      await rawConnect(t, nginx.httpPort, undefined),
      'GET /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    )
    assert.equal(redirect.statusCode, 308)
    assert.equal(redirect.headers.location, `https://localhost:${nginx.httpsPort}/health/live`)

    for (const { what, request, status, code } of REFUSED) {
      const reply = await rawExchange(await rawConnect(t, nginx.httpPort, undefined), request)
      assertNginxProblem(reply, status, code, false, what)
    }
    // A body over client_max_body_size (nginx's default, 1 MiB, here) is refused before the
    // redirect: 413, as a problem document.
    const big = await rawExchange(
      await rawConnect(t, nginx.httpPort, undefined),
      'POST /user/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n',
      true,
    )
    assertNginxProblem(big, 413, 'payload_too_large', false, 'a 2 MB body on the plain listener')
    assert.deepEqual(nginx.served(), [], 'nothing reached the service')
  })
})
