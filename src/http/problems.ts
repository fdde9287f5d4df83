import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isUnavailable } from '../db/errors.ts'
import { AppError, type ErrorCode, toProblem } from '../errors.ts'
import { setSecurityHeaders } from './headers.ts'
import { fieldErrors } from './validation.ts'

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed_json',
  FST_ERR_BAD_URL: 'bad_request',
  // An over-long path segment is just another id that does not exist.
  FST_ERR_MAX_PARAM_LENGTH: 'not_found',
}

/** Anything thrown → an AppError. Unknown errors become a bare 500; their cause goes to the log. */
export function asAppError(error: unknown): AppError {
  if (error instanceof AppError) return error
  const fastifyError = error as Partial<FastifyError>
  if (fastifyError.validation) {
    // Our validators fail with an AppError (validation.ts); this is the net for any other.
    return new AppError('validation_failed', {
      errors: fieldErrors(
        fastifyError.validation as never,
        fastifyError.validationContext ?? 'body',
      ),
    })
  }
  if (isUnavailable(error))
    return new AppError('unavailable', { cause: error, headers: { 'retry-after': '1' } })
  const code = fastifyError.code !== undefined ? fastifyCodes[fastifyError.code] : undefined
  if (code) return new AppError(code, { cause: error })
  // Other 4xx from Fastify's own machinery stay client errors.
  const status = fastifyError.statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    return new AppError(status === 404 ? 'not_found' : 'bad_request', { cause: error })
  }
  return new AppError('internal', { cause: error })
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

export function sendProblem(reply: FastifyReply, error: AppError): FastifyReply {
  // RFC 6750 §3: a request for a resource that needs an access token is answered with the Bearer
  // challenge. A failed login or refresh involves no token, and a challenge would ask for one.
  if (error.code === 'invalid_token') reply.header('www-authenticate', 'Bearer realm="usersvc"')
  return reply
    .code(error.status)
    .headers(error.headers)
    .type('application/problem+json')
    .send(toProblem(error))
}

/**
 * Fastify errors raised before routing (a bad URL encoding): the same problem documents. No
 * route means no hooks, so the headers and the log line are done here.
 */
export function frameworkErrors(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const appError = asAppError(error)
  setSecurityHeaders(reply)
  reply.header('x-request-id', request.id)
  sendProblem(reply, appError)
  const { method, url, ip } = request
  request.log.info({ method, url, status: appError.status, ip }, 'request')
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** 405 with Allow for a path that has other methods, else 404. */
export function unroutedProblem(allowed: string[]): AppError {
  if (allowed.length === 0) {
    return new AppError('not_found', { detail: 'No route matches this method and path.' })
  }
  return new AppError('method_not_allowed', {
    detail: `Allowed: ${allowed.join(', ')}.`,
    headers: { allow: allowed.join(', ') },
  })
}

/**
 * Every error leaves as an RFC 9457 problem document; 5xx bodies say nothing internal. Returns
 * the methods the routes have for a path (sorted), for requests answered outside Fastify.
 */
export function registerProblems(app: FastifyInstance): (path: string) => string[] {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appError = asAppError(error)
    // Expected refusals are counted by the metrics; a stack per refusal would only add load
    // (and alarms) exactly when the service is saturated.
    if (appError.code === 'overloaded') request.log.debug('refused: overloaded')
    else if (appError.code === 'unavailable') {
      // Without a cause it is a refusal whose reason was logged once where it was found.
      if (appError.cause === undefined) request.log.debug('refused: unavailable')
      else request.log.warn({ cause: errorText(appError.cause) }, 'database unavailable')
    } else if (appError.status >= 500) {
      request.log.error({ err: appError.cause ?? error }, 'request failed')
    }
    return sendProblem(reply, appError)
  })

  // Which methods each path answers, so a known path with another method gets 405 + Allow.
  const routes: Array<{ method: string; path: RegExp }> = []
  app.addHook('onRoute', (route) => {
    const pattern = escapeRegExp(route.url.replace(/\/$/, '')).replace(/:[^/]+/g, '[^/]+')
    const path = new RegExp(`^${pattern}/?$`)
    for (const method of [route.method].flat()) routes.push({ method, path })
  })
  const allowedMethods = (path: string) =>
    [...new Set(routes.filter((r) => r.path.test(path)).map((r) => r.method))].sort()
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    return sendProblem(reply, unroutedProblem(allowedMethods(path)))
  })
  return allowedMethods
}
