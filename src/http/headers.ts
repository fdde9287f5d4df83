import type { FastifyReply } from 'fastify'

/** Headers every API response carries (unless a route chose its own caching). */
export const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
}

export function setSecurityHeaders(reply: FastifyReply): void {
  const { 'cache-control': cacheControl, ...always } = SECURITY_HEADERS
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', cacheControl)
  reply.headers(always)
}
