import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../errors.ts'
import { NoContent, problems, userBody } from '../http/schemas.ts'
import { counted } from '../metrics/outcomes.ts'
import { assertSameOrigin, clearRefreshCookie, refreshCookie, setRefreshCookie } from './cookie.ts'
import { CookieQuery, LoginBody, logoutResponses, RefreshBody, tokenResponses } from './schemas.ts'
import type { TokenPair } from './service.ts'

const loginOutcomes = {
  invalid_credentials: 'invalid',
  rate_limited: 'throttled',
  overloaded: 'overloaded',
} as const
const refreshOutcomes = { invalid_refresh_token: 'invalid' } as const
const bearer = [{ bearerAuth: [] }]

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { refreshTtlSeconds } = app.config.tokens

  function sendPair(reply: FastifyReply, pair: TokenPair, cookie: boolean) {
    if (cookie) setRefreshCookie(reply, pair.refreshToken, refreshTtlSeconds)
    // RFC 6749 §5.1: token responses must not be cached anywhere.
    return reply.header('cache-control', 'no-store').send({
      access_token: pair.accessToken,
      token_type: 'Bearer',
      expires_in: pair.expiresIn,
      ...(cookie ? {} : { refresh_token: pair.refreshToken }),
      user: userBody(pair.user),
    })
  }

  /** The refresh token of a refresh or logout: from the body, or (cookie mode) the cookie. */
  function presented(
    request: FastifyRequest,
    cookie: boolean,
    body: string | undefined,
  ): string | undefined {
    if (!cookie) {
      if (body === undefined) {
        throw new AppError('validation_failed', {
          errors: [{ field: 'refresh_token', code: 'required', message: 'is required' }],
        })
      }
      return body
    }
    assertSameOrigin(request, app.config.allowedOrigins)
    return refreshCookie(request)
  }

  app.post(
    '/session/',
    {
      schema: {
        summary: 'Log in: an access token and a refresh token',
        tags: ['sessions'],
        querystring: CookieQuery,
        body: LoginBody,
        response: tokenResponses,
      },
    },
    async (request, reply) => {
      const cookie = request.query.cookie === true
      if (cookie) assertSameOrigin(request, app.config.allowedOrigins)
      const { login, password } = request.body
      const pair = await counted(app.metrics.logins, 'success', loginOutcomes, () =>
        app.sessions.login(login, password, request.ip),
      )
      return sendPair(reply, pair, cookie)
    },
  )

  app.post(
    '/session/refresh',
    {
      schema: {
        summary: 'Exchange a refresh token for a new pair (the old one is spent)',
        tags: ['sessions'],
        querystring: CookieQuery,
        body: RefreshBody,
        response: tokenResponses,
      },
    },
    async (request, reply) => {
      const cookie = request.query.cookie === true
      const token = presented(request, cookie, request.body.refresh_token)
      const pair = await counted(app.metrics.refreshes, 'success', refreshOutcomes, async () => {
        if (!token) throw new AppError('invalid_refresh_token')
        return app.sessions.refresh(token)
      })
      return sendPair(reply, pair, cookie)
    },
  )

  app.delete(
    '/session/',
    {
      schema: {
        summary: 'Log out: revoke this session (idempotent)',
        tags: ['sessions'],
        querystring: CookieQuery,
        body: RefreshBody,
        response: logoutResponses,
      },
    },
    async (request, reply) => {
      const cookie = request.query.cookie === true
      const token = presented(request, cookie, request.body.refresh_token)
      if (token) await app.sessions.logout(token)
      if (cookie) clearRefreshCookie(reply)
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/session/all',
    {
      onRequest: app.authenticate,
      schema: {
        summary: 'Log out everywhere: revoke every session of the caller',
        tags: ['sessions'],
        security: bearer,
        response: { 204: NoContent, ...problems('invalid_token') },
      },
    },
    async (request, reply) => {
      if (request.actor) await app.sessions.logoutEverywhere(request.actor.id)
      clearRefreshCookie(reply)
      return reply.code(204).send(null)
    },
  )
}

export default routes
