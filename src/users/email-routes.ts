import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { languageOf } from '../outbox/mail.ts'
import { Accepted, BODY_ERRORS, bearerAuth, problems } from '../schemas.ts'
import { EmptyBody, UserSchema, userBody, VerifyEmailBody } from './schemas.ts'

/** The caller proves their email address, or asks for another code (no password: a code proves it). */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const onRequest = app.authenticate
  const tags = ['users']

  app.post(
    '/user/me/email/verify',
    {
      onRequest,
      schema: {
        summary: 'Verify the email address with the code mailed to it',
        tags,
        security: bearerAuth,
        body: VerifyEmailBody,
        response: { 200: UserSchema, ...problems(...BODY_ERRORS, 'invalid_token', 'invalid_code') },
      },
    },
    async (request) =>
      userBody(await app.emailVerification.verify(request.actor, request.body.code)),
  )

  app.post(
    '/user/me/email/verification',
    {
      onRequest,
      schema: {
        summary: 'Mail a new verification code (the previous one dies); a few an hour',
        tags,
        security: bearerAuth,
        body: EmptyBody,
        response: {
          202: Accepted,
          ...problems(...BODY_ERRORS, 'invalid_token', 'not_found', 'rate_limited'),
        },
      },
    },
    async (request, reply) => {
      await app.emailVerification.resend(
        request.actor,
        languageOf(request.headers['accept-language']),
      )
      return reply.code(202).send({ detail: 'A new code is on its way to your email address.' })
    },
  )
}

export default routes
