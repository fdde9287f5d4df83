import { randomUUID } from 'node:crypto'
import { METHODS, maxHeaderSize, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { ConnectionError, FastifyInstance } from 'fastify'
import { AppError, toProblem } from '../errors.ts'
import { HSTS } from '../tls/policy.ts'
import { SECURITY_HEADERS } from './headers.ts'
import { unroutedProblem } from './problems.ts'

// Errors answered before Fastify has a request to run hooks on: the same problem documents and
// headers as every other error (see the onSend hook in app.ts), written here by hand.

/** The headers and body of a problem document sent without Fastify's reply. */
function problemMessage(error: AppError, secure: boolean, id: string) {
  const body = JSON.stringify(toProblem(error))
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    ...error.headers,
    'x-request-id': id,
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
  }
  if (secure) headers['strict-transport-security'] = HSTS
  return { headers, body }
}

function isSecure(socket: unknown): boolean {
  return (socket as { encrypted?: boolean }).encrypted === true
}

/** What Node's HTTP/1.1 parser (or its request timeout) refused, as a problem of the catalogue. */
function parserProblem(code: string): AppError {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AppError('request_timeout')
  if (code === 'HPE_HEADER_OVERFLOW') {
    // Node counts the request line with the header fields: a long URL ends up here too.
    const limit = `${maxHeaderSize / 1024} KiB`
    return new AppError('headers_too_large', {
      detail: `The request line and header fields together are over ${limit}.`,
    })
  }
  return new AppError('bad_request', { detail: 'The request is not valid HTTP/1.1.' })
}

/**
 * Fastify's clientErrorHandler: a request Node's HTTP/1.1 parser refused (an unknown method, a
 * control character in a header, too long a URL or header section) or one that timed out. It is
 * answered with a problem document, then the connection is closed: what follows on it cannot be
 * parsed. `this` is the Fastify instance.
 */
export function clientErrorHandler(
  this: FastifyInstance,
  error: ConnectionError,
  socket: Socket,
): void {
  // Answered already (the parser refuses each later chunk too): closed once the answer is out.
  if (socket.writableEnded) return
  // As Node's own handler: nothing on a socket that is gone, or whose response has begun.
  const response = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (error.code === 'ECONNRESET' || !socket.writable || response?.headersSent) {
    socket.destroy()
    return
  }
  const problem = parserProblem(error.code)
  const id = randomUUID()
  const { headers, body } = problemMessage(problem, isSecure(socket), id)
  // RFC 9110 §6.6.1: a 4xx carries Date.
  const all = { ...headers, date: new Date().toUTCString(), connection: 'close' }
  const head = [`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}`]
  for (const [name, value] of Object.entries(all)) head.push(`${name}: ${value}`)
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy())
  this.log.info(
    { reqId: id, status: problem.status, code: error.code, ip: socket.remoteAddress },
    'client error',
  )
}

type Listener = (req: Request, res: Response) => void
interface Request {
  method?: string
  url?: string
  socket: unknown
}
interface Response {
  writeHead(status: number, headers: Record<string, string>): unknown
  end(body: string): unknown
}

// Fastify's router knows the methods of Node's HTTP/1.1 parser only. HTTP/2 lets a client send any
// token as :method (RFC 9113 §8.3.1), and Fastify would answer it 404 from a fallback that logs a
// "fastify bug" warning with the whole route tree.
const ROUTABLE = new Set(METHODS)

/**
 * Answers requests with a method no route can have before Fastify sees them, as the not-found
 * handler would: 405 with Allow where the path has other methods, else 404.
 */
export function answerUnknownMethods(
  app: FastifyInstance,
  allowedMethods: (path: string) => string[],
): void {
  const server = app.server
  const route = server.listeners('request') as Listener[]
  server.removeAllListeners('request')
  server.on('request', (req: Request, res: Response) => {
    if (ROUTABLE.has(req.method ?? '')) {
      for (const listener of route) listener.call(server, req, res)
      return
    }
    const problem = unroutedProblem(allowedMethods((req.url ?? '').split('?')[0] ?? ''))
    const id = randomUUID()
    const { headers, body } = problemMessage(problem, isSecure(req.socket), id)
    res.writeHead(problem.status, headers)
    res.end(body)
    const ip = (req.socket as Socket).remoteAddress
    app.log.info(
      { reqId: id, method: req.method, url: req.url, status: problem.status, ip },
      'request',
    )
  })
}
