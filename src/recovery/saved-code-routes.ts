import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { languageOf } from '../outbox/mail.ts'
import { createSavedCodeRecovery } from './saved-code.ts'
import { recoveryResponses, SavedCodeRecoveryBody } from './schemas.ts'

/** POST /recovery/code: a saved recovery code sets a new password. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const recovery = createSavedCodeRecovery({
    db: app.store.db,
    clock: app.clock,
    hasher: app.hasher,
    policy: app.passwordPolicy,
    throttle: app.throttle,
    codes: app.recoveryCodeCheck,
    record: app.outbox.record,
    events: app.events.record,
  })

  app.post(
    '/recovery/code',
    {
      schema: {
        summary: 'Set a new password with a saved recovery code; ends every session',
        description:
          'The code is spent. A wrong code and an unknown login get the same answer, and count like failed logins.',
        tags: ['recovery'],
        body: SavedCodeRecoveryBody,
        response: recoveryResponses,
      },
    },
    async (request, reply) => {
      const { login, recovery_code, new_password } = request.body
      await recovery.recover({
        login,
        code: recovery_code,
        newPassword: new_password,
        address: request.ip,
        language: languageOf(request.headers['accept-language']),
      })
      return reply.code(204).send(null)
    },
  )
}

export default routes
