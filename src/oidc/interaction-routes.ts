import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors } from 'oidc-provider'
import { AppError } from '../errors.ts'
import { bearerAuth, problems } from '../schemas.ts'
import { sessionRepository } from '../sessions/session-repository.ts'
import { PAGE_CSP } from '../web/plugin.ts'
import { consentRepository } from './consents.ts'
import { isFirstParty } from './provider.ts'
import { EmptyBody, InteractionDetails, InteractionParams, Redirect } from './schemas.ts'

const INDEX_HTML = readFileSync(resolve(import.meta.dirname, '../../web/index.html'))
// The interaction's time is in whole seconds, and another instance's clock may differ a little.
const FRESH_SLACK_MS = 1_000

type Interaction = Awaited<
  ReturnType<
    Awaited<ReturnType<FastifyRequest['server']['oidc']['provider']>>['interactionDetails']
  >
>

const words = (scope: unknown) =>
  String(scope ?? '')
    .split(' ')
    .filter(Boolean)

/**
 * The sign-in page as the provider's interaction: the page (web/) signs the user in as it always
 * does, then hands the session's access token here, and these routes tell the provider who it was
 * and what they allowed. Bound to the browser by the provider's interaction cookie.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.store
  const sessions = sessionRepository(db)
  const tags = ['oauth2']

  async function interaction(
    request: FastifyRequest<{ Params: { uid: string } }>,
    reply: FastifyReply,
  ) {
    const provider = await app.oidc.provider()
    try {
      const found = await provider.interactionDetails(request.raw, reply.raw)
      if (found.uid === request.params.uid) return { provider, interaction: found }
    } catch (error) {
      if (!(error instanceof errors.SessionNotFound)) throw error
    }
    throw new AppError('interaction_not_found')
  }

  /** Whether the signed-in session satisfies prompt=login and max_age (OIDC Core §3.1.2.1). */
  function freshEnough(found: Interaction, signedInAt: Date): boolean {
    const reasons = found.prompt.reasons
    const now = app.clock.now().getTime()
    if (
      reasons.includes('login_prompt') &&
      signedInAt.getTime() < (found.iat ?? 0) * 1000 - FRESH_SLACK_MS
    ) {
      return false
    }
    const maxAge = found.params.max_age
    if (maxAge !== undefined && now - signedInAt.getTime() > Number(maxAge) * 1000) {
      return false
    }
    return true
  }

  app.get(
    '/oauth2/interaction/:uid',
    {
      schema: { hide: true, params: InteractionParams },
      // After the app-wide onSend, which sets the API's `default-src 'none'`.
      onSend: async (_request, reply) => {
        reply.header('content-security-policy', PAGE_CSP)
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store')
      return reply.type('text/html; charset=utf-8').send(INDEX_HTML)
    },
  )

  app.get(
    '/oauth2/interaction/:uid/details',
    {
      schema: {
        summary: 'What an application asks of the user signing in (the sign-in page reads it)',
        tags,
        params: InteractionParams,
        response: { 200: InteractionDetails, ...problems('interaction_not_found') },
      },
    },
    async (request, reply) => {
      const { provider, interaction: found } = await interaction(request, reply)
      const client = await provider.Client.find(String(found.params.client_id))
      if (!client) throw new AppError('interaction_not_found')
      const reasons = found.prompt.reasons
      return {
        prompt: found.prompt.name as 'login' | 'consent',
        reasons,
        fresh: reasons.includes('login_prompt') || reasons.includes('max_age'),
        client: {
          client_id: client.clientId,
          name: client.clientName ?? client.clientId,
          first_party: isFirstParty(client),
        },
        scopes: words(found.params.scope),
        ...(typeof found.params.login_hint === 'string'
          ? { login_hint: found.params.login_hint }
          : {}),
      }
    },
  )

  app.post(
    '/oauth2/interaction/:uid/login',
    {
      onRequest: [app.authenticate],
      schema: {
        summary: 'Sign the user in for the application, with the session of this access token',
        tags,
        security: bearerAuth,
        params: InteractionParams,
        body: EmptyBody,
        response: {
          200: Redirect,
          ...problems('interaction_not_found', 'invalid_token', 'login_required'),
        },
      },
    },
    async (request, reply) => {
      const { provider, interaction: found } = await interaction(request, reply)
      const auth = request.authentication
      const session = auth ? await sessions.findLive(auth.sid) : undefined
      if (!auth || !session) throw new AppError('invalid_token')
      if (!freshEnough(found, session.createdAt)) {
        throw new AppError('login_required', {
          detail: 'The application asks for a sign-in made for it (prompt=login or max_age).',
        })
      }
      const result = {
        login: {
          accountId: request.actor.id,
          ts: Math.floor(session.createdAt.getTime() / 1000),
          amr: auth.amr,
          acr: auth.aal,
          remember: true,
        },
        usersvc_session: session.id,
      }
      const redirect = await provider.interactionResult(request.raw, reply.raw, result, {
        mergeWithLastSubmission: false,
      })
      return { redirect }
    },
  )

  app.post(
    '/oauth2/interaction/:uid/consent',
    {
      onRequest: [app.authenticate],
      schema: {
        summary: 'Allow the application what it asked for; remembered until withdrawn',
        tags,
        security: bearerAuth,
        params: InteractionParams,
        body: EmptyBody,
        response: {
          200: Redirect,
          ...problems('interaction_not_found', 'invalid_token', 'forbidden'),
        },
      },
    },
    async (request, reply) => {
      const { provider, interaction: found } = await interaction(request, reply)
      const accountId = found.session?.accountId
      if (found.prompt.name !== 'consent' || !accountId) throw new AppError('interaction_not_found')
      if (accountId !== request.actor.id) {
        throw new AppError('forbidden', { detail: 'This sign-in is another account’s.' })
      }
      const clientId = String(found.params.client_id)
      const clientName = (await provider.Client.find(clientId))?.clientName ?? clientId
      const scopes = words(found.params.scope)
      const grant =
        (found.grantId && (await provider.Grant.find(found.grantId))) ||
        new provider.Grant({ accountId, clientId })
      grant.addOIDCScope(scopes.join(' '))
      const grantId = await grant.save()
      await db.transaction().execute(async (trx) => {
        const all = await consentRepository(trx).grant(accountId, clientId, scopes, app.clock.now())
        await app.events.record(trx, {
          type: 'oauth.consent_given',
          userId: accountId,
          data: { client_id: clientId, client_name: clientName, scopes: all },
        })
      })
      const redirect = await provider.interactionResult(
        request.raw,
        reply.raw,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      )
      return { redirect }
    },
  )

  app.post(
    '/oauth2/interaction/:uid/abort',
    {
      schema: {
        summary: 'Decline: the application hears access_denied',
        tags,
        params: InteractionParams,
        body: EmptyBody,
        response: { 200: Redirect, ...problems('interaction_not_found') },
      },
    },
    async (request, reply) => {
      const { provider } = await interaction(request, reply)
      const redirect = await provider.interactionResult(
        request.raw,
        reply.raw,
        { error: 'access_denied', error_description: 'The user declined.' },
        { mergeWithLastSubmission: false },
      )
      return { redirect }
    },
  )
}

export default routes
