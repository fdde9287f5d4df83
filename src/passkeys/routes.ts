import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Factor } from '../factors/types.ts'
import { languageOf } from '../outbox/mail.ts'
import { BODY_ERRORS, bearerAuth, problems } from '../schemas.ts'
import loginRoutes from './login-routes.ts'
import {
  CreationOptions,
  NewPasskeyBody,
  PasskeyFactorSchema,
  PasskeyOptionsBody,
} from './schemas.ts'

const factorBody = (factor: Factor) => ({
  id: factor.id,
  type: 'passkey' as const,
  name: factor.name,
  created_at: factor.createdAt.toISOString(),
  last_used_at: factor.lastUsedAt?.toISOString() ?? null,
})

/** The caller's passkeys: registration under /user/me/factors/passkey; passwordless login. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  // onRequest: refused before the body is parsed; on an account with a factor, only at AAL2
  // (NIST SP 800-63B rev 4: binding another authenticator takes the level it grants).
  const onRequest = [app.authenticate, app.requireStepUp]
  const tags = ['users']

  app.post(
    '/user/me/factors/passkey/options',
    {
      onRequest,
      schema: {
        summary: 'Options for navigator.credentials.create(): a new passkey for this account',
        description:
          'A discoverable credential, user verification preferred, no attestation; the account’s passkeys are excluded. The challenge is single-use and lives 5 minutes.',
        tags,
        security: bearerAuth,
        body: PasskeyOptionsBody,
        response: {
          200: CreationOptions,
          ...problems(...BODY_ERRORS, 'invalid_token', 'step_up_required'),
        },
      },
    },
    async (request, reply) => {
      const options = await app.passkeys.registrationOptions(request.actor)
      return reply.header('cache-control', 'no-store').send(options)
    },
  )

  app.post(
    '/user/me/factors/passkey',
    {
      onRequest,
      schema: {
        summary: 'Register the passkey made from the options',
        description:
          '`invalid_passkey` (400): the response does not verify (origin, RP ID, signature), or its challenge is unknown, expired or used. `passkey_registered` (409): that credential is registered already. A notice goes to the account’s address if it is verified.',
        tags,
        security: bearerAuth,
        body: NewPasskeyBody,
        response: {
          201: PasskeyFactorSchema,
          ...problems(
            ...BODY_ERRORS,
            'invalid_passkey',
            'invalid_token',
            'step_up_required',
            'passkey_registered',
          ),
        },
      },
    },
    async (request, reply) => {
      const factor = await app.passkeys.register(
        request.actor,
        request.body.name,
        request.body.credential,
        languageOf(request.headers['accept-language']),
      )
      return reply
        .code(201)
        .header('location', `/user/me/factors/${factor.id}`)
        .send(factorBody(factor))
    },
  )

  await app.register(loginRoutes)
}

export default routes
