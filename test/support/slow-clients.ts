// Slow clients (slowloris) against a real usersvc: the timeouts they meet, clients that trickle
// a request line, headers or a body over HTTP/1.1, and the checks of when they were cut off.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { type Socket, connect as tcpConnect } from 'node:net'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect as tlsConnect } from 'node:tls'
import { type Server, startServer } from './processes.ts'

export const HEADERS_TIMEOUT_MS = 2000
export const REQUEST_TIMEOUT_MS = 3000
export const GRACE_MS = 8000
/** How much earlier than its timeout a client may be cut off (timers, clocks, who starts first). */
const EARLY_MS = 500
/** How often a slow client sends its next byte. */
export const DRIP_MS = 500
export const SLOW_CLIENTS = 300
/**
 * The headers timeout of the tests with SLOW_CLIENTS: every slow client must still be held when
 * the first round of ordinary traffic is done, and on a busy machine (300 handshakes, the other
 * tests of this file and another file beside it) that round can take seconds.
 */
export const CROWD_HEADERS_TIMEOUT_MS = 6000

export const SLOW_ENV = {
  METRICS_PORT: '0',
  HEADERS_TIMEOUT_SECONDS: String(HEADERS_TIMEOUT_MS / 1000),
  REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_MS / 1000),
  // Long, so an idle timeout cannot be what ends the slow clients.
  KEEP_ALIVE_TIMEOUT_SECONDS: '60',
}

export interface Slow {
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
export function slowSocket(
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

export function tcp(server: Server): Socket {
  return tcpConnect(server.port, '127.0.0.1')
}

/** A TLS connection, once its handshake is done (so a slow client's clock starts after it). */
export async function tlsSocket(server: Server, alpn: string): Promise<Socket> {
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
export function slowHeaders(t: TestContext, socket: Socket, i: number): Slow {
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
export function slowBody(t: TestContext, socket: Socket): Slow {
  return slowSocket(
    t,
    'HTTP/1.1 body',
    socket,
    'POST /user/ HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\n' +
      'content-length: 1000\r\n\r\n{',
    () => ' ',
  )
}

/** Waits until every slow client is closed or the bound has passed; returns those still open. */
export async function stillOpenAfter(slow: Slow[], boundMs: number): Promise<Slow[]> {
  const bound = new AbortController()
  await Promise.race([
    Promise.all(slow.map((s) => s.closed)),
    sleep(boundMs, undefined, { signal: bound.signal }).catch(() => {}),
  ])
  bound.abort()
  return slow.filter((s) => s.isOpen())
}

export function describeOpen(open: Slow[], total: number, timeout: string): string {
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
export function assertNotCutBefore(slow: Slow[], timeoutMs: number) {
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
export function assertOnly408(slow: Slow[]) {
  for (const s of slow) {
    const text = s.received()
    if (text) assert.match(text, /^HTTP\/1\.1 408 /, `${s.what}: ${text.split('\r\n')[0]}`)
  }
}

/** usersvc with the timeouts of SLOW_ENV (and a headers timeout of `headersMs`), over TLS or not. */
export async function startWithTimeouts(
  t: TestContext,
  tls: boolean,
  headersMs = HEADERS_TIMEOUT_MS,
) {
  const headers = { HEADERS_TIMEOUT_SECONDS: String(headersMs / 1000) }
  return startServer(t, { env: { ...SLOW_ENV, ...headers, ...(tls ? {} : { TLS: 'off' }) } })
}
