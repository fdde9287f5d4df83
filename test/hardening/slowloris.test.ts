// Slow clients (slowloris): with HEADERS_TIMEOUT_SECONDS=2 (6 for 300 at once) and
// REQUEST_TIMEOUT_SECONDS=3, clients that trickle their headers or their body a byte now and then
// are cut off by the service, and meanwhile everyone else is served. Plain HTTP, and the default HTTPS (HTTP/1.1 and HTTP/2).
//
// "Cut off" means the connection is closed by the server (HTTP/1.1: after a 408, or not) or, for
// an HTTP/2 request, its stream is ended by the server; within the configured timeout plus
// GRACE_MS, a generous bound for a check that runs now and then; and not before the timeout (less
// EARLY_MS), so that a connection that failed at once cannot pass for one the service cut off.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import * as http2 from 'node:http2'
import { type Socket, connect as tcpConnect } from 'node:net'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect as tlsConnect } from 'node:tls'
import { type Dispatcher, Pool, request } from 'undici'
import { type Server, startServer } from '../support/processes.ts'
import { PASSWORD } from '../support/requests.ts'

const HEADERS_TIMEOUT_MS = 2000
const REQUEST_TIMEOUT_MS = 3000
const GRACE_MS = 8000
/** How much earlier than its timeout a client may be cut off (timers, clocks, who starts first). */
const EARLY_MS = 500
/** How often a slow client sends its next byte. */
const DRIP_MS = 500
const SLOW_CLIENTS = 300
/**
 * The headers timeout of the tests with SLOW_CLIENTS: every slow client must still be held when
 * the first round of ordinary traffic is done, and on a busy machine (300 handshakes, the other
 * tests of this file and another file beside it) that round can take seconds.
 */
const CROWD_HEADERS_TIMEOUT_MS = 6000

const SLOW_ENV = {
  METRICS_PORT: '0',
  HEADERS_TIMEOUT_SECONDS: String(HEADERS_TIMEOUT_MS / 1000),
  REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_MS / 1000),
  // Long, so an idle timeout cannot be what ends the slow clients.
  KEEP_ALIVE_TIMEOUT_SECONDS: '60',
}

interface Slow {
  what: string
  closed: Promise<void>
  isOpen(): boolean
  /** When the client started (performance.now()), and when it was closed, if it was. */
  openedAt: number
  closedAt(): number | undefined
  /** The first socket or stream error, if any (expected once the server has closed it). */
  error(): string | undefined
  /** Whatever the server sent (HTTP/1.1: a 408 status line at most). */
  received(): string
}

/**
 * Sends `first`, then `drip(n)` every DRIP_MS until the server closes the connection. The client
 * itself never closes it (until the test is over).
 */
function slowSocket(
  t: TestContext,
  what: string,
  socket: Socket,
  first: string | Buffer,
  drip: (n: number) => string | Buffer,
): Slow {
  const openedAt = performance.now()
  let closedAt: number | undefined
  let error: string | undefined
  let open = true
  let received = ''
  let n = 0
  socket.setNoDelay(true)
  socket.write(first)
  const timer = setInterval(() => {
    if (open) socket.write(drip(n++))
  }, DRIP_MS)
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1')
  })
  // Resets and EPIPE on a closed connection are expected here; the close time tells whether it
  // was the service that closed it (see assertNotCutBefore).
  socket.on('error', (e: Error) => {
    error ??= e.message
  })
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closedAt = performance.now()
      open = false
      clearInterval(timer)
      resolve()
    }),
  )
  t.after(() => {
    clearInterval(timer)
    socket.destroy()
  })
  return {
    what,
    closed,
    isOpen: () => open,
    openedAt,
    closedAt: () => closedAt,
    error: () => error,
    received: () => received,
  }
}

function tcp(server: Server): Socket {
  return tcpConnect(server.port, '127.0.0.1')
}

/** A TLS connection, once its handshake is done (so a slow client's clock starts after it). */
async function tlsSocket(server: Server, alpn: string): Promise<Socket> {
  const ca = await readFile(join(server.tlsDir, 'ca.crt'), 'utf8')
  const socket = tlsConnect({
    host: '127.0.0.1',
    port: server.port,
    servername: 'localhost',
    ca,
    ALPNProtocols: [alpn],
  })
  await once(socket, 'secureConnect')
  return socket
}

/** Half the slow clients stall in the request line, half in the headers. */
function slowHeaders(t: TestContext, socket: Socket, i: number): Slow {
  if (i % 2 === 0) {
    return slowSocket(t, `request line #${i}`, socket, 'GET /health/live', () => 'a')
  }
  return slowSocket(
    t,
    `headers #${i}`,
    socket,
    'POST /user/ HTTP/1.1\r\nHost: localhost\r\n',
    (n) => `X-Slow-${n}: x\r\n`,
  )
}

/** Complete headers, then a body of 1000 bytes one byte at a time. */
function slowBody(t: TestContext, socket: Socket): Slow {
  return slowSocket(
    t,
    'HTTP/1.1 body',
    socket,
    'POST /user/ HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\n' +
      'content-length: 1000\r\n\r\n{',
    () => ' ',
  )
}

// HTTP/2 frames by hand: a client that never finishes its header block.
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9)
  header.writeUIntBE(payload.length, 0, 3)
  header[3] = type
  header[4] = flags
  header.writeUInt32BE(stream, 5)
  return Buffer.concat([header, payload])
}
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
const SETTINGS = frame(0x4, 0, 0, Buffer.alloc(0))
/** HPACK: :method GET, :path /, :scheme https (static table), :authority localhost. */
const REQUEST_HEADERS = Buffer.from([0x82, 0x84, 0x87, 0x41, 0x09, ...Buffer.from('localhost')])
/** HEADERS with END_STREAM but without END_HEADERS: more header block is announced. */
const OPEN_HEADER_BLOCK = frame(0x1, 0x1, 1, REQUEST_HEADERS)

const GOAWAY = 0x7

/** The types of the HTTP/2 frames in what a server sent (as latin1 text). */
function frameTypes(received: string): number[] {
  const bytes = Buffer.from(received, 'latin1')
  const types: number[] = []
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) {
    types.push(bytes[at + 3] as number)
  }
  return types
}

/**
 * An HTTP/2 client whose header block never ends. (It cannot trickle: the only frame allowed
 * now is CONTINUATION, and nghttp2 allows only a few of them; it just goes quiet.)
 */
function slowHttp2Headers(t: TestContext, socket: Socket, i: number): Slow {
  return slowSocket(
    t,
    `HTTP/2 header block #${i}`,
    socket,
    Buffer.concat([PREFACE, SETTINGS, OPEN_HEADER_BLOCK]),
    () => Buffer.alloc(0),
  )
}

/** An HTTP/2 request whose body (1000 bytes announced) comes one byte at a time. */
function slowHttp2Body(t: TestContext, session: http2.ClientHttp2Session): Slow {
  const stream = session.request({
    ':method': 'POST',
    ':path': '/user/',
    'content-type': 'application/json',
    'content-length': '1000',
  })
  const openedAt = performance.now()
  let closedAt: number | undefined
  let error: string | undefined
  let open = true
  let received = ''
  stream.write('{')
  const timer = setInterval(() => {
    if (open) stream.write(' ')
  }, DRIP_MS)
  stream.on('response', (headers) => {
    received += `:status ${headers[':status']}\n`
  })
  stream.on('data', (chunk: Buffer) => {
    received += chunk.toString()
  })
  stream.on('error', (e: Error) => {
    error ??= e.message
  })
  const closed = new Promise<void>((resolve) =>
    stream.on('close', () => {
      closedAt = performance.now()
      open = false
      clearInterval(timer)
      if (stream.rstCode) received += `RST_STREAM ${stream.rstCode}\n`
      resolve()
    }),
  )
  t.after(() => {
    clearInterval(timer)
    stream.destroy()
  })
  return {
    what: 'HTTP/2 body',
    closed,
    isOpen: () => open,
    openedAt,
    closedAt: () => closedAt,
    error: () => error,
    received: () => received,
  }
}

/** Waits until every slow client is closed or the bound has passed; returns those still open. */
async function stillOpenAfter(slow: Slow[], boundMs: number): Promise<Slow[]> {
  const bound = new AbortController()
  await Promise.race([
    Promise.all(slow.map((s) => s.closed)),
    sleep(boundMs, undefined, { signal: bound.signal }).catch(() => {}),
  ])
  bound.abort()
  return slow.filter((s) => s.isOpen())
}

function describeOpen(open: Slow[], total: number, timeout: string): string {
  const kinds = [...new Set(open.map((s) => s.what.replace(/ #\d+$/, '')))]
  return (
    `${open.length} of ${total} slow clients (${kinds.join(', ')}) still connected ` +
    `${GRACE_MS} ms after ${timeout} should have cut them off`
  )
}

/**
 * Every slow client was closed no earlier than `timeoutMs` (less EARLY_MS) after it started: a
 * connection refused, reset or failed at once would otherwise pass for one the service cut off.
 */
function assertNotCutBefore(slow: Slow[], timeoutMs: number) {
  for (const s of slow) {
    const closedAt = s.closedAt()
    assert.ok(closedAt !== undefined, `${s.what}: still open`)
    const lived = Math.round(closedAt - s.openedAt)
    assert.ok(
      lived >= timeoutMs - EARLY_MS,
      `${s.what}: closed after ${lived} ms, before the ${timeoutMs} ms timeout (error: ${s.error() ?? 'none'}, received: ${JSON.stringify(s.received().slice(0, 80))})`,
    )
  }
}

/** HTTP/1.1 answers the slow client may have had: none, or 408. */
function assertOnly408(slow: Slow[]) {
  for (const s of slow) {
    const text = s.received()
    if (text) assert.match(text, /^HTTP\/1\.1 408 /, `${s.what}: ${text.split('\r\n')[0]}`)
  }
}

interface Normal {
  /** One round of ordinary traffic: health, a registration, a login. */
  round(i: number): Promise<void>
}

function normalTraffic(server: Server, dispatcher: Dispatcher, prefix: string): Normal {
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await request(`${server.base}${path}`, {
      method,
      dispatcher,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    })
    return { status: res.statusCode, body: await res.body.text() }
  }
  return {
    async round(i) {
      const live = await call('GET', '/health/live')
      assert.equal(live.status, 200, live.body)
      const login = `${prefix}${i}`
      const created = await call('POST', '/user/', { login, password: PASSWORD })
      assert.equal(created.status, 201, created.body)
      const session = await call('POST', '/session/', { login, password: PASSWORD })
      assert.equal(session.status, 200, session.body)
    },
  }
}

/** The same round over HTTP/2. */
function http2Traffic(session: http2.ClientHttp2Session, prefix: string): Normal {
  const call = (method: 'GET' | 'POST', path: string, body?: unknown) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const stream = session.request({
        ':method': method,
        ':path': path,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      })
      let status = 0
      let text = ''
      stream.on('response', (headers) => {
        status = Number(headers[':status'])
      })
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk
      })
      stream.on('end', () => resolve({ status, body: text }))
      stream.on('error', reject)
      stream.end(body === undefined ? undefined : JSON.stringify(body))
    })
  return {
    async round(i) {
      const live = await call('GET', '/health/live')
      assert.equal(live.status, 200, live.body)
      const login = `${prefix}${i}`
      const created = await call('POST', '/user/', { login, password: PASSWORD })
      assert.equal(created.status, 201, created.body)
      const session2 = await call('POST', '/session/', { login, password: PASSWORD })
      assert.equal(session2.status, 200, session2.body)
    },
  }
}

/**
 * Ordinary traffic, round after round, while the slow clients are held: the first round must
 * complete while every one of them is still connected. Stops when they are all gone or the bound
 * has passed.
 */
async function serveMeanwhile(slow: Slow[], traffic: Normal[], boundMs: number) {
  await Promise.all(traffic.map((n) => n.round(0)))
  const openAtFirstRound = slow.filter((s) => s.isOpen()).length
  assert.equal(openAtFirstRound, slow.length, 'ordinary requests were served while all were held')
  const done = Promise.all(slow.map((s) => s.closed)).then(() => true)
  let stop = false
  void done.then(() => {
    stop = true
  })
  const bound = sleep(boundMs).then(() => {
    stop = true
  })
  let i = 1
  while (!stop) {
    await Promise.all(traffic.map((n) => n.round(i)))
    i++
    await Promise.race([sleep(250), done, bound])
  }
  return i
}

async function start(t: TestContext, tls: boolean, headersMs = HEADERS_TIMEOUT_MS) {
  const headers = { HEADERS_TIMEOUT_SECONDS: String(headersMs / 1000) }
  return startServer(t, { env: { ...SLOW_ENV, ...headers, ...(tls ? {} : { TLS: 'off' }) } })
}

describe('slow clients (HEADERS_TIMEOUT_SECONDS=2 or 6, REQUEST_TIMEOUT_SECONDS=3)', {
  concurrency: true,
  timeout: 90_000,
}, () => {
  test(`plain HTTP: ${SLOW_CLIENTS} clients trickling their request line or headers are cut off by the headers timeout; others are served`, async (t) => {
    const headersMs = CROWD_HEADERS_TIMEOUT_MS
    const server = await start(t, false, headersMs)
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
    const server = await start(t, false)
    const slow = [slowBody(t, tcp(server))]
    const open = await stillOpenAfter(slow, REQUEST_TIMEOUT_MS + GRACE_MS)
    assert.equal(open.length, 0, describeOpen(open, 1, 'the request timeout'))
    assertNotCutBefore(slow, REQUEST_TIMEOUT_MS)
    assertOnly408(slow)
  })

  test(`HTTPS, HTTP/1.1: ${SLOW_CLIENTS} clients trickling their request line or headers are cut off; others are served over HTTP/1.1 and HTTP/2`, async (t) => {
    const headersMs = CROWD_HEADERS_TIMEOUT_MS
    const server = await start(t, true, headersMs)
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
    const server = await start(t, true)
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
    const server = await start(t, true)
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
