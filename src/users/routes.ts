import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BODY_ERRORS, NoContent, problems, userBody } from '../http/schemas.ts'
import { fieldErrors } from '../http/validation.ts'
import { counted } from '../metrics/outcomes.ts'
import { actor, bearer } from './request.ts'
import { ChangePasswordBody, DeleteMeBody, PasswordPolicy, RegisterBody, User } from './schemas.ts'

const registrationOutcomes = {
  login_taken: 'taken',
  validation_failed: 'invalid',
  password_policy: 'invalid',
  rate_limited: 'throttled',
  overloaded: 'overloaded',
} as const

/** Registration and the caller's own account (`/user/me`). */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  // onRequest: an unauthenticated request is refused before its body is even parsed.
  const auth = { onRequest: app.authenticate }
  const tags = ['users']

  app.post(
    '/user/',
    {
      schema: {
        summary: 'Register',
        tags,
        body: RegisterBody,
        response: {
          201: User,
          ...problems(
            ...BODY_ERRORS,
            'password_policy',
            'login_taken',
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
            const schemaErrors = fieldErrors(request.validationError.validation as never, 'body')
            throw app.users.rejectRegistration(request.body, schemaErrors)
          }
          const { login, password } = request.body
          return app.users.register(login, password, 'user', request.ip)
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

  app.get(
    '/user/me',
    {
      ...auth,
      schema: {
        summary: 'The caller',
        tags,
        security: bearer,
        response: { 200: User, ...problems('invalid_token') },
      },
    },
    async (request) => userBody(actor(request)),
  )

  app.put(
    '/user/me/password',
    {
      ...auth,
      schema: {
        summary: 'Change the password; ends every session',
        tags,
        security: bearer,
        body: ChangePasswordBody,
        response: {
          204: NoContent,
          ...problems(
            ...BODY_ERRORS,
            'invalid_token',
            'invalid_credentials',
            'password_policy',
            'rate_limited',
            'overloaded',
          ),
        },
      },
    },
    async (request, reply) => {
      const { current_password, new_password } = request.body
      await app.users.changePassword(actor(request), current_password, new_password, request.ip)
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/user/me',
    {
      ...auth,
      schema: {
        summary: 'Delete the caller’s own account, confirmed by its password',
        tags,
        security: bearer,
        body: DeleteMeBody,
        response: {
          204: NoContent,
          ...problems(
            ...BODY_ERRORS,
            'invalid_token',
            'invalid_credentials',
            'rate_limited',
            'overloaded',
          ),
        },
      },
    },
    async (request, reply) => {
      await app.users.removeSelf(actor(request), request.body.password, request.ip)
      return reply.code(204).send(null)
    },
  )
}

export default routes
