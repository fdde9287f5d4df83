import type {} from '@fastify/cookie'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../errors.ts'

// Browser clients keep the refresh token where scripts cannot read it: an HttpOnly, Secure,
// SameSite=Strict cookie sent only to /session. (__Secure- makes browsers refuse it without TLS.)
export const REFRESH_COOKIE = '__Secure-usersvc-refresh'
const COOKIE_PATH = '/session'

export function setRefreshCookie(reply: FastifyReply, token: string, maxAgeSeconds: number): void {
  reply.setCookie(REFRESH_COOKIE, token, {
    path: COOKIE_PATH,
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    maxAge: maxAgeSeconds,
  })
}

export function clearRefreshCookie(reply: FastifyReply): void {
  reply.clearCookie(REFRESH_COOKIE, {
    path: COOKIE_PATH,
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
  })
}

/**
 * Requests that act on the cookie must come from a page of ours (CSRF): SameSite=Strict keeps
 * other sites' requests from carrying it, and the Origin header must name this service (as the
 * browser reached it) or one of ALLOWED_ORIGINS.
 */
export function assertSameOrigin(request: FastifyRequest, allowedOrigins: string[]): void {
  const origin = request.headers.origin
  const own = `${request.protocol}://${request.host}`
  if (origin && (origin === own || allowedOrigins.includes(origin))) return
  throw new AppError('forbidden', {
    detail: 'A cookie session request must come from this service’s own pages (Origin).',
  })
}

export function refreshCookie(request: FastifyRequest): string | undefined {
  return request.cookies[REFRESH_COOKIE]
}
