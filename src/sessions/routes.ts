import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { AppError, invalidField } from '../errors.ts'
import { counted } from '../metrics/outcomes.ts'
import { bearerAuth, NoContent, problems } from '../schemas.ts'
import { isUuid } from '../text.ts'
import { assertSameOrigin, clearRefreshCookie, refreshCookie } from './cookie.ts'
import { sendTokens } from './reply.ts'
import {
  CookieQuery,
  logoutResponses,
  RefreshBody,
  SessionIdParams,
  SessionList,
  tokenResponses,
} from './schemas.ts'

const refreshOutcomes = { invalid_refresh_token: 'invalid' } as const

/** Refresh, log out, log out everywhere, the caller's sessions. (Logging in is authn/routes.ts.) */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { refreshTtlSeconds } = app.config.tokens
  const tags = ['sessions']

  /** The refresh token of a refresh or logout: from the body, or (cookie mode) the cookie. */
  function presented(
    request: FastifyRequest,
    cookie: boolean,
    body: string | undefined,
  ): string | undefined {
    if (!cookie) {
      if (body === undefined) throw invalidField('refresh_token', 'required', 'is required')
      return body
    }
    assertSameOrigin(request, app.config.allowedOrigins)
    return refreshCookie(request)
  }

  app.post(
    '/session/refresh',
    {
      schema: {
        summary:
          'Exchange a refresh token for a new pair (the old one is spent); with ?cookie=true and no cookie: 204, no session',
        tags,
        querystring: CookieQuery,
        body: RefreshBody,
        response: { ...tokenResponses, 204: NoContent },
      },
    },
    async (request, reply) => {
      const cookie = request.query.cookie === true
      const token = presented(request, cookie, request.body.refresh_token)
      // A page asks on every load whether there is a session: with no cookie there is none,
      // which is an answer, not an error (no failed request in a first visitor's console).
      if (cookie && !token) return reply.code(204).send(null)
      const pair = await counted(app.metrics.refreshes, 'success', refreshOutcomes, async () => {
        if (!token) throw new AppError('invalid_refresh_token')
        try {
          return await app.sessions.refresh(token)
        } catch (error) {
          // A dead cookie goes, so the next load asks without one.
          if (cookie) clearRefreshCookie(reply)
          throw error
        }
      })
      return sendTokens(reply, pair, cookie ? { maxAgeSeconds: refreshTtlSeconds } : undefined)
    },
  )

  app.delete(
    '/session/',
    {
      schema: {
        summary: 'Log out: revoke this session (idempotent)',
        tags,
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
        tags,
        security: bearerAuth,
        response: { 204: NoContent, ...problems('invalid_token') },
      },
    },
    async (request, reply) => {
      await app.sessions.endAll(request.actor.id)
      clearRefreshCookie(reply)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/session/',
    {
      onRequest: app.authenticate,
      schema: {
        summary: 'The caller’s sessions (one per sign-in), most recently used first',
        tags,
        security: bearerAuth,
        response: { 200: SessionList, ...problems('invalid_token') },
      },
    },
    async (request, reply) => {
      const current = request.authentication?.sid
      const sessions = await app.sessions.list(request.actor.id)
      return reply.header('cache-control', 'no-store').send({
        items: sessions.map((session) => ({
          id: session.id,
          created_at: session.createdAt.toISOString(),
          last_used_at: session.lastUsedAt.toISOString(),
          user_agent: session.userAgent,
          address: session.address,
          aal: session.aal,
          current: session.id === current,
        })),
      })
    },
  )

  app.delete(
    '/session/:id',
    {
      onRequest: app.authenticate,
      schema: {
        summary:
          'End one of the caller’s sessions: its refresh token is revoked and its access tokens refused from now on',
        tags,
        security: bearerAuth,
        params: SessionIdParams,
        response: { 204: NoContent, ...problems('invalid_token', 'not_found') },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      // Another user's session, an ended one and no session at all are one answer.
      const ended = isUuid(id) && (await app.sessions.end(request.actor.id, id.toLowerCase()))
      if (!ended) throw new AppError('not_found', { detail: 'There is no such session of yours.' })
      return reply.code(204).send(null)
    },
  )
}

export default routes
