// Slow clients (slowloris): with HEADERS_TIMEOUT_SECONDS=2 (6 for 300 at once) and
// REQUEST_TIMEOUT_SECONDS=3, clients that trickle their headers or their body a byte now and then
// are cut off by the service, and meanwhile everyone else is served. Plain HTTP, and the default HTTPS (HTTP/1.1 and HTTP/2).
//
// "Cut off" means the connection is closed by the server (HTTP/1.1: after a 408, or not) or, for
// an HTTP/2 request, its stream is ended by the server; within the configured timeout plus
// GRACE_MS, a generous bound for a check that runs now and then; and not before the timeout (less
// EARLY_MS), so that a connection that failed at once cannot pass for one the service cut off.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import * as http2 from 'node:http2'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { Pool } from 'undici'
import { startServer } from '../support/processes.ts'
import {
  assertNotCutBefore,
  assertOnly408,
  CROWD_HEADERS_TIMEOUT_MS,
  describeOpen,
  GRACE_MS,
  HEADERS_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
  SLOW_CLIENTS,
  SLOW_ENV,
  slowBody,
  slowHeaders,
  startWithTimeouts,
  stillOpenAfter,
  tcp,
  tlsSocket,
} from '../support/slow-clients.ts'
import { frameTypes, GOAWAY, slowHttp2Body, slowHttp2Headers } from '../support/slow-http2.ts'
import { http2Traffic, normalTraffic, serveMeanwhile } from '../support/traffic.ts'

describe('slow clients (HEADERS_TIMEOUT_SECONDS=2 or 6, REQUEST_TIMEOUT_SECONDS=3)', {
  concurrency: true,
  timeout: 90_000,
}, () => {
  test(`plain HTTP: ${SLOW_CLIENTS} clients trickling their request line or headers are cut off by the headers timeout; others are served`, async (t) => {
    const headersMs = CROWD_HEADERS_TIMEOUT_MS
    const server = await startWithTimeouts(t, false, headersMs)
    const pool = new Pool(server.base, { connections: 4 })
    t.after(() => pool.destroy())
    const slow = Array.from({ length: SLOW_CLIENTS }, (_, i) => slowHeaders(t, tcp(server), i))
    const bound = headersMs + GRACE_MS
    const rounds = serveMeanwhile(slow, [normalTraffic(server, pool, 'plain')], bound)
    rounds.catch(() => {}) // awaited below
    const open = await stillOpenAfter(slow, bound)
    await rounds
    assert.deepEqual(open.length, 0, describeOpen(open, slow.length, 'the headers timeout'))
    assertNotCutBefore(slow, headersMs)
    assertOnly408(slow)
  })

  test('plain HTTP: a client trickling its body is cut off by the request timeout', async (t) => {
    const server = await startWithTimeouts(t, false)
    const slow = [slowBody(t, tcp(server))]
    const open = await stillOpenAfter(slow, REQUEST_TIMEOUT_MS + GRACE_MS)
    assert.equal(open.length, 0, describeOpen(open, 1, 'the request timeout'))
    assertNotCutBefore(slow, REQUEST_TIMEOUT_MS)
    assertOnly408(slow)
  })

  test(`HTTPS, HTTP/1.1: ${SLOW_CLIENTS} clients trickling their request line or headers are cut off; others are served over HTTP/1.1 and HTTP/2`, async (t) => {
    const headersMs = CROWD_HEADERS_TIMEOUT_MS
    const server = await startWithTimeouts(t, true, headersMs)
    const ca = await readFile(join(server.tlsDir, 'ca.crt'), 'utf8')
    const session = http2.connect(server.base, { ca })
    session.on('error', () => {})
    t.after(() => session.destroy())
    // Each one starts trickling (and watching for its close) right after its own handshake: the
    // service's headers timer starts there too, and 300 handshakes take a while.
    const slow = await Promise.all(
      Array.from({ length: SLOW_CLIENTS }, (_, i) =>
        tlsSocket(server, 'http/1.1').then((socket) => slowHeaders(t, socket, i)),
      ),
    )
    const bound = headersMs + GRACE_MS
    const traffic = [
      normalTraffic(server, await server.dispatcher(), 'tlsone'),
      http2Traffic(session, 'tlstwo'),
    ]
    const rounds = serveMeanwhile(slow, traffic, bound)
    rounds.catch(() => {}) // awaited below
    const open = await stillOpenAfter(slow, bound)
    await rounds
    assert.equal(open.length, 0, describeOpen(open, slow.length, 'the headers timeout'))
    assertNotCutBefore(slow, headersMs)
    assertOnly408(slow)
  })

  test('HTTPS, HTTP/1.1: a client trickling its body is cut off by the request timeout', async (t) => {
    const server = await startWithTimeouts(t, true)
    const slow = [slowBody(t, await tlsSocket(server, 'http/1.1'))]
    const open = await stillOpenAfter(slow, REQUEST_TIMEOUT_MS + GRACE_MS)
    assert.equal(open.length, 0, describeOpen(open, 1, 'the request timeout'))
    assertNotCutBefore(slow, REQUEST_TIMEOUT_MS)
    assertOnly408(slow)
  })

  test('HTTP/2: clients that never finish their header block are cut off (headers or idle timeout)', async (t) => {
    // Node has no header-block timer for HTTP/2: the session's idle timeout (KEEP_ALIVE_TIMEOUT_
    // SECONDS) is the only one that can see such a client, so it is set short here and the bound
    // is the larger of the two. The connection must actually be closed, not just sent a GOAWAY.
    const keepAliveMs = 3000
    const server = await startServer(t, {
      env: { ...SLOW_ENV, KEEP_ALIVE_TIMEOUT_SECONDS: String(keepAliveMs / 1000) },
    })
    const slow = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        tlsSocket(server, 'h2').then((socket) => slowHttp2Headers(t, socket, i)),
      ),
    )
    const bound = Math.max(HEADERS_TIMEOUT_MS, keepAliveMs) + GRACE_MS
    const open = await stillOpenAfter(slow, bound)
    const goaway = open.filter((s) => frameTypes(s.received()).includes(GOAWAY)).length
    assert.equal(
      open.length,
      0,
      `${describeOpen(open, slow.length, 'the headers and idle timeouts')} (${goaway} of them were sent a GOAWAY, then left open)`,
    )
    assertNotCutBefore(slow, Math.min(HEADERS_TIMEOUT_MS, keepAliveMs))
  })

  test('HTTP/2: a request trickling its body is ended by the request timeout', async (t) => {
    const server = await startWithTimeouts(t, true)
    const ca = await readFile(join(server.tlsDir, 'ca.crt'), 'utf8')
    const session = http2.connect(server.base, { ca })
    session.on('error', () => {})
    t.after(() => session.destroy())
    const slow = [slowHttp2Body(t, session)]
    const open = await stillOpenAfter(slow, REQUEST_TIMEOUT_MS + GRACE_MS)
    assert.equal(open.length, 0, describeOpen(open, 1, 'the request timeout'))
    assertNotCutBefore(slow, REQUEST_TIMEOUT_MS)
    // Ended by the service: a 408 answer or a reset of the stream, nothing else.
    assert.match(slow[0]?.received() ?? '', /:status 408|RST_STREAM/)
  })
})
