import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../errors.ts'
import { counted } from '../metrics/outcomes.ts'
import { languageOf } from '../outbox/mail.ts'
import { PasswordPolicy } from '../passwords/schemas.ts'
import { BODY_ERRORS, problems } from '../schemas.ts'
import { RegisterBody, UserSchema, userBody } from './schemas.ts'

const registrationOutcomes = {
  login_taken: 'taken',
  email_taken: 'taken',
  validation_failed: 'invalid',
  password_policy: 'invalid',
  rate_limited: 'throttled',
  overloaded: 'overloaded',
} as const

/** Registration, and the password rules it applies. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['users']

  app.post(
    '/user/',
    {
      schema: {
        summary: 'Register; with an email address, a code to verify it is mailed',
        tags,
        body: RegisterBody,
        response: {
          201: UserSchema,
          ...problems(
            ...BODY_ERRORS,
            'password_policy',
            'login_taken',
            'email_taken',
            'rate_limited',
            'overloaded',
          ),
        },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      const user = await counted(
        app.metrics.registrations,
        'created',
        registrationOutcomes,
        async () => {
          // A sign-up form wants every problem at once: schema and policy errors are reported together.
          if (request.validationError) {
            const failed = request.validationError
            if (!(failed instanceof AppError)) throw failed
            throw app.users.rejectRegistration(request.body, failed.errors ?? [])
          }
          const { login, password, email } = request.body
          return app.users.register(login, password, 'user', {
            address: request.ip,
            email,
            language: languageOf(request.headers['accept-language']),
          })
        },
      )
      return reply.code(201).header('location', `/user/${user.id}`).send(userBody(user))
    },
  )

  app.get(
    '/password-policy',
    {
      schema: {
        summary: 'The password rules registration applies',
        tags,
        response: { 200: PasswordPolicy, ...problems() },
      },
    },
    async () => ({
      min_length: app.passwordPolicy.minLength,
      max_length: app.passwordPolicy.maxLength,
      refuses_common_passwords: true,
      refuses_login_in_password: true,
    }),
  )
}

export default routes
