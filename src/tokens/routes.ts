import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { problems } from '../schemas.ts'

// An allow-list of public members: an Ed25519 key's crv and x, an RSA key's n and e. A private
// member (d, and RSA's p, q, dp, dq, qi) can never be served, whatever the store holds.
const PublicJwk = Type.Object({
  kty: Type.String(),
  crv: Type.Optional(Type.String()),
  x: Type.Optional(Type.String()),
  n: Type.Optional(Type.String()),
  e: Type.Optional(Type.String()),
  kid: Type.String(),
  alg: Type.String(),
  use: Type.String(),
})

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        summary: 'The public keys that verify access tokens and ID tokens (JWKS)',
        tags: ['keys'],
        response: { 200: Type.Object({ keys: Type.Array(PublicJwk) }), ...problems() },
      },
    },
    async (_request, reply) => {
      // Short enough that a rotated-in key is seen well before the old one is withdrawn.
      reply.header('cache-control', 'public, max-age=300')
      return app.keys.jwks()
    },
  )
}

export default routes
