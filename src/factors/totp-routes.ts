import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { languageOf } from '../outbox/mail.ts'
import { BODY_ERRORS, bearerAuth, problems } from '../schemas.ts'
import {
  FactorIdParams,
  FactorSchema,
  factorBody,
  TotpConfirmBody,
  TotpEnrolBody,
  TotpEnrolment,
} from './schemas.ts'

/** TOTP enrolment under /user/me/factors/totp. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  // Adding a factor to an account that has one takes AAL2 (the hook says why).
  const onRequest = [app.authenticate, app.requireStepUp]
  const tags = ['factors']

  app.post(
    '/user/me/factors/totp',
    {
      onRequest,
      schema: {
        summary: 'Begin adding an authenticator app (TOTP): its key, shown this once',
        description:
          'The factor is pending until POST /user/me/factors/totp/{id}/confirm with a code, within 15 minutes.',
        tags,
        security: bearerAuth,
        body: TotpEnrolBody,
        response: {
          201: TotpEnrolment,
          ...problems(
            ...BODY_ERRORS,
            'invalid_token',
            'step_up_required',
            'invalid_credentials',
            'rate_limited',
            'overloaded',
          ),
        },
      },
    },
    async (request, reply) => {
      const enrolment = await app.totp.enrol(
        request.actor,
        request.body.password,
        request.body.name,
        request.ip,
      )
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .header('location', `/user/me/factors/${enrolment.id}`)
        .send({ id: enrolment.id, secret: enrolment.secret, otpauth_uri: enrolment.otpauthUri })
    },
  )

  app.post(
    '/user/me/factors/totp/:id/confirm',
    {
      onRequest,
      schema: {
        summary: 'Confirm an authenticator app with its current code: the factor is active',
        description: 'A notice goes to the account’s address if it is verified.',
        tags,
        security: bearerAuth,
        params: FactorIdParams,
        body: TotpConfirmBody,
        response: {
          200: FactorSchema,
          ...problems(
            ...BODY_ERRORS,
            'invalid_token',
            'step_up_required',
            'not_found',
            'invalid_code',
            'rate_limited',
          ),
        },
      },
    },
    async (request) => {
      const factor = await app.totp.confirm(
        request.actor,
        request.params.id,
        request.body.code,
        request.ip,
        languageOf(request.headers['accept-language']),
      )
      return factorBody(factor)
    },
  )
}

export default routes
