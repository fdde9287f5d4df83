import type { FastifyReply } from 'fastify'
import { userBody } from '../users/schemas.ts'
import { setRefreshCookie } from './cookie.ts'
import type { TokenPair } from './service.ts'

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
