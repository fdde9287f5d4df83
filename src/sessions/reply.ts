import type { FastifyReply, FastifyRequest } from 'fastify'
import { userBody } from '../users/schemas.ts'
import { setRefreshCookie } from './cookie.ts'
import type { Client, TokenPair } from './service.ts'

/** Where a request comes from, as a new session records it. */
export function clientOf(request: FastifyRequest): Client {
  return { userAgent: request.headers['user-agent'], address: request.ip }
}

/** A token pair as the answer of a login or a refresh; with `cookie`, the refresh token goes there. */
export function sendTokens(
  reply: FastifyReply,
  pair: TokenPair,
  cookie: { maxAgeSeconds: number } | undefined,
): FastifyReply {
  if (cookie) setRefreshCookie(reply, pair.refreshToken, cookie.maxAgeSeconds)
  // RFC 6749 §5.1: token responses must not be cached anywhere.
  return reply.header('cache-control', 'no-store').send({
    access_token: pair.accessToken,
    token_type: 'Bearer',
    expires_in: pair.expiresIn,
    ...(cookie ? {} : { refresh_token: pair.refreshToken }),
    user: userBody(pair.user),
  })
}
