// The errors real nginx answers itself, before anything is proxied (a malformed request, a request
// line or header fields too large, TRACE, plain HTTP on the HTTPS port), are RFC 9457 problem
// documents with the service's headers, on the HTTPS listener and on the plain one; a request
// that is fine still reaches the service.
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import http2 from 'node:http2'
import { type AddressInfo, type Socket, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect as tlsConnect } from 'node:tls'
import {
  type PreparedProxy,
  prepareProxy,
  proxyOptionsFromEnv,
  runProxy,
  stopProxy,
} from '../../scripts/proxy.ts'
import { AppError, type ErrorCode, toProblem } from '../../src/errors.ts'
import { loadTlsCredentials } from '../../src/tls/credentials.ts'
import { eventually, PATIENCE_MS } from '../support/eventually.ts'
import { makeApp } from '../support/harness.ts'
import { freePort } from '../support/ports.ts'

const HSTS = 'max-age=63072000'
/** The headers the service's own errors carry (src/http/headers.ts), nginx's too. */
const SECURITY = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
}

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function patiently<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    sleep(PATIENCE_MS, undefined, { ref: false }).then(() => {
      throw new Error(`no ${what} within ${PATIENCE_MS} ms`)
    }),
  ])
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
  const root = await mkdtemp(join(tmpdir(), 'usersvc-nginx-errors-'))
  const tlsDir = join(root, 'tls')
  const httpsPort = await freePort()
  let httpPort = await freePort()
  while (httpPort === httpsPort) httpPort = await freePort()
  let prepared: PreparedProxy | undefined
  let child: ChildProcess | undefined
  t.after(async () => {
    try {
      if (child && prepared && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        stopProxy(prepared)
        await patiently(exited, 'nginx exit').catch((error: unknown) => {
          child?.kill('SIGKILL')
          throw error
        })
      }
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  const tls = await loadTlsCredentials({ enabled: true, dir: tlsDir, sans: [] })
  const service = await makeApp(t, { tls, env: { TRUST_PROXY: '127.0.0.1' } })
  await service.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = service.app.server.address() as AddressInfo

  prepared = await prepareProxy(
    proxyOptionsFromEnv({
      PROXY_DIR: join(root, 'run'),
      TLS_DIR: tlsDir,
      PROXY_HOST: '127.0.0.1',
      PROXY_HTTPS_PORT: String(httpsPort),
      PROXY_HTTP_PORT: String(httpPort),
      PROXY_UPSTREAMS: `127.0.0.1:${port}`,
    }),
  )
  const started = runProxy(prepared, 'ignore')
  child = started
  const pidFile = join(prepared.runDir, 'nginx.pid')
  // nginx writes its pid file once its sockets listen.
  await eventually(
    async () => {
      if (started.exitCode !== null) throw new Error(`nginx exited (${started.exitCode}) on start`)
      const pid = await readFile(pidFile, 'utf8').catch(() => '')
      return pid.trim() === String(started.pid) ? true : undefined
    },
    { what: 'nginx.pid with the master pid' },
  )
  const ca = await readFile(join(tlsDir, 'ca.crt'), 'utf8')
  const served = () =>
    service.logs
      .map((line) => JSON.parse(line) as { msg?: string; url?: string })
      .filter((l) => l.msg === 'request')
      .map((l) => l.url ?? '')
  return { httpsPort, httpPort, ca, served }
}

/** A new connection to nginx: TLS with ALPN http/1.1, or plain TCP. */
async function connect(t: TestContext, port: number, ca: string | undefined): Promise<Socket> {
  const socket = ca
    ? tlsConnect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca,
        ALPNProtocols: ['http/1.1'],
      })
    : tcpConnect(port, '127.0.0.1')
  t.after(() => socket.destroy())
  await patiently(once(socket, ca ? 'secureConnect' : 'connect'), 'connection')
  return socket
}

/**
 * Sends `request` as is and reads until nginx closes the connection; the reply parsed. With
 * `end`, the client half-closes after it (else nginx lingers for a body that never comes).
 */
async function exchange(socket: Socket, request: string, end = false): Promise<Reply> {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => {})
  const closed = once(socket, 'close')
  if (end) socket.end(request)
  else socket.write(request)
  await patiently(closed, 'close of the connection by nginx')
  const text = Buffer.concat(chunks).toString('latin1')
  const head = text.slice(0, text.indexOf('\r\n\r\n'))
  const [statusLine = '', ...lines] = head.split('\r\n')
  const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]
  assert.ok(status, `no status line in ${JSON.stringify(text.slice(0, 300))}`)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(status), headers, body: text.slice(head.length + 4) }
}

/** The problem document the service itself would send for `code`, with its headers. */
function assertProblem(reply: Reply, status: number, code: ErrorCode, hsts: boolean, what: string) {
  const where = `${what}: ${reply.status} ${JSON.stringify(reply.headers)} ${reply.body}`
  assert.equal(reply.status, status, where)
  assert.match(String(reply.headers['content-type']), /^application\/problem\+json/, where)
  assert.deepEqual(JSON.parse(reply.body), toProblem(new AppError(code)), where)
  for (const [name, value] of Object.entries(SECURITY)) {
    assert.equal(reply.headers[name], value, `${name}: ${where}`)
  }
  assert.equal(reply.headers['strict-transport-security'], hsts ? HSTS : undefined, where)
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
    const ok = await exchange(
      await connect(t, nginx.httpsPort, nginx.ca),
      'GET /health/live?probe=ok HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    )
    assert.equal(ok.status, 200, ok.body)
    assert.deepEqual(nginx.served(), ['/health/live?probe=ok'])

    for (const { what, request, status, code } of REFUSED) {
      const reply = await exchange(await connect(t, nginx.httpsPort, nginx.ca), request)
      assertProblem(reply, status, code, true, what)
      assert.equal(reply.headers.connection, 'close', what)
    }

    // Plain HTTP sent to the HTTPS port (497 in nginx): answered in clear, so without HSTS.
    const plain = await exchange(
      await connect(t, nginx.httpsPort, undefined),
      'GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n',
    )
    assertProblem(plain, 400, 'bad_request', false, 'plain HTTP on the HTTPS port')

    // nginx's internal location for these answers cannot be asked for directly.
    const direct = await exchange(
      await connect(t, nginx.httpsPort, nginx.ca),
      'GET /.problem HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    )
    assertProblem(direct, 404, 'not_found', true, 'GET /.problem')

    // Over HTTP/2 as well.
    const session = http2.connect(`https://localhost:${nginx.httpsPort}`, { ca: nginx.ca })
    t.after(() => session.destroy())
    const trace = await new Promise<Reply>((done, fail) => {
      const stream = session.request({ ':method': 'TRACE', ':path': '/health/live' })
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
    assertProblem(trace, 405, 'method_not_allowed', true, 'TRACE over HTTP/2')
    session.close()

    assert.deepEqual(nginx.served(), ['/health/live?probe=ok'], 'nothing refused was proxied')
  })

  test('plain listener: its own errors are problem documents too (no HSTS); the rest is redirected', async (t) => {
    const nginx = await edge(t)
    const redirect = await exchange(
      await connect(t, nginx.httpPort, undefined),
      'GET /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    )
    assert.equal(redirect.status, 308)
    assert.equal(redirect.headers.location, `https://localhost:${nginx.httpsPort}/health/live`)

    for (const { what, request, status, code } of REFUSED) {
      const reply = await exchange(await connect(t, nginx.httpPort, undefined), request)
      assertProblem(reply, status, code, false, what)
    }
    // A body over client_max_body_size (nginx's default, 1 MiB, here) is refused before the
    // redirect: 413, as a problem document.
    const big = await exchange(
      await connect(t, nginx.httpPort, undefined),
      'POST /user/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n',
      true,
    )
    assertProblem(big, 413, 'payload_too_large', false, 'a 2 MB body on the plain listener')
    assert.deepEqual(nginx.served(), [], 'nothing reached the service')
  })
})
