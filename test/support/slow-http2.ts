// HTTP/2 slow clients made by hand: a header block that never ends, a body a byte at a time.
import type * as http2 from 'node:http2'
import type { Socket } from 'node:net'
import type { TestContext } from 'node:test'
import { DRIP_MS, type Slow, slowSocket } from './slow-clients.ts'

/** An HTTP/2 frame, made by hand. */
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

export const GOAWAY = 0x7

/** The types of the HTTP/2 frames in what a server sent (as latin1 text). */
export function frameTypes(received: string): number[] {
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
export function slowHttp2Headers(t: TestContext, socket: Socket, i: number): Slow {
  return slowSocket(
    t,
    `HTTP/2 header block #${i}`,
    socket,
    Buffer.concat([PREFACE, SETTINGS, OPEN_HEADER_BLOCK]),
    () => Buffer.alloc(0),
  )
}

/** An HTTP/2 request whose body (1000 bytes announced) comes one byte at a time. */
export function slowHttp2Body(t: TestContext, session: http2.ClientHttp2Session): Slow {
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
