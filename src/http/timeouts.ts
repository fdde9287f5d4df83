import type { Server } from 'node:http'
import { constants, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2'
import type { Config } from '../config/index.ts'

type Timeouts = Config['timeouts']

/**
 * Slow clients (slowloris) must not hold sockets. Fastify applies requestTimeout and
 * keepAliveTimeout only to a plain HTTP server, Node checks them only every 30 s by default,
 * and HTTP/2 has no request timeout at all: all of it is set here, for both kinds of server.
 */
export function enforceTimeouts(
  server: Server | Http2SecureServer,
  timeouts: Timeouts,
  http2: boolean,
): void {
  // HTTP/1.1, also the HTTP/1.1 fallback of the HTTPS server.
  const http1 = server as Server
  http1.headersTimeout = timeouts.headersMs
  http1.requestTimeout = timeouts.requestMs
  http1.keepAliveTimeout = timeouts.keepAliveMs
  ;(http1 as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = Math.min(
    1000,
    Math.max(100, timeouts.headersMs / 2),
  )
  if (!http2) return
  const secure = server as Http2SecureServer
  // A stream whose request has not fully arrived within requestMs is cancelled.
  secure.on('stream', (stream: ServerHttp2Stream) => {
    const timer = setTimeout(() => {
      if (!stream.readableEnded && !stream.closed) stream.close(constants.NGHTTP2_CANCEL)
    }, timeouts.requestMs)
    timer.unref()
    stream.once('close', () => clearTimeout(timer))
  })
  // Fastify closes an idle session gracefully (GOAWAY); one with a half-sent stream would wait
  // for it forever, so it is destroyed shortly after.
  secure.on('session', (session) => {
    session.once('timeout', () => {
      setTimeout(() => {
        if (!session.destroyed) session.destroy()
      }, 1000).unref()
    })
  })
}
