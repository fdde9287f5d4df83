// HTTP/1.1 written by hand on a socket: for requests no client library would send.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type Socket, connect as tcpConnect } from 'node:net'
import type { TestContext } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { patiently } from './eventually.ts'
import type { Reply } from './http.ts'

/** A new connection that speaks HTTP/1.1: plain TCP, or TLS (ALPN http/1.1) trusting `ca`. */
export async function rawConnect(t: TestContext, port: number, ca?: string): Promise<Socket> {
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
 * Sends `request` as it is and reads until the server closes the connection; the reply parsed.
 * The client never ends its side unless told (`end`: nginx, say, waits for a body otherwise),
 * so the close is the server's.
 */
export async function rawExchange(socket: Socket, request: string, end = false): Promise<Reply> {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  // The server may reset the connection after its reply (request bytes it never read): the
  // reply is still what arrived before.
  socket.on('error', () => {})
  const closed = once(socket, 'close')
  if (end) socket.end(request)
  else socket.write(request)
  await patiently(closed, 'close of the connection by the server')
  const text = Buffer.concat(chunks).toString('latin1')
  const head = text.slice(0, text.indexOf('\r\n\r\n'))
  const [statusLine = '', ...lines] = head.split('\r\n')
  const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]
  assert.ok(status, `no HTTP/1.1 status line in ${JSON.stringify(text.slice(0, 300))}`)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { statusCode: Number(status), headers, body: text.slice(head.length + 4) }
}
