import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BODY_ERRORS, bearerAuth, problems } from '../schemas.ts'
import { IMPORT_BODY_LIMIT, ImportBody, ImportResult } from './schemas.ts'

/** Admins import up to 1,000 users a request, by the rules of `usersvc import`. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/user/import',
    {
      onRequest: [app.authenticate, app.requireAdmin],
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        summary:
          'Import users with their existing password hashes (admins); each logs in with the old password, which then becomes argon2id',
        tags: ['users'],
        security: bearerAuth,
        body: ImportBody,
        response: {
          200: ImportResult,
          ...problems('invalid_token', 'forbidden', 'overloaded', ...BODY_ERRORS),
        },
      },
    },
    async (request) => {
      const { users, allow_weak, firebase } = request.body
      return app.transfer.importRecords(
        users.map((raw, index) => ({ index, raw })),
        {
          allowWeak: allow_weak === true,
          ...(firebase
            ? {
                firebase: {
                  signerKey: firebase.signer_key,
                  saltSeparator: firebase.salt_separator,
                  rounds: firebase.rounds,
                  memCost: firebase.mem_cost,
                },
              }
            : {}),
        },
      )
    },
  )
}

export default routes
