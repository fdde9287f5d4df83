import { type FastifyReply, type FastifyRequest, LogController } from 'fastify'

// Query parameters that carry a token, a code or who is signing in (OpenID requests):
// logged as present, never with their value.
const SECRET_PARAMS = new Set([
  'id_token_hint',
  'login_hint',
  'code',
  'token',
  'access_token',
  'refresh_token',
  'client_secret',
])

/** The URL as logged: the values of SECRET_PARAMS replaced. */
export function loggedUrl(url: string): string {
  const at = url.indexOf('?')
  if (at < 0) return url
  const params = new URLSearchParams(url.slice(at + 1))
  let changed = false
  for (const key of new Set(params.keys())) {
    if (SECRET_PARAMS.has(key)) {
      params.set(key, '[redacted]')
      changed = true
    }
  }
  return changed ? `${url.slice(0, at)}?${params}` : url
}

/** One log line per request, when it completes, with what an operator needs and nothing secret. */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = {
      method: request.method,
      url: loggedUrl(request.url),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ip: request.ip,
    }
    if (error) request.log.error({ ...line, err: error }, 'request failed')
    else request.log.info(line, 'request')
  }
}
