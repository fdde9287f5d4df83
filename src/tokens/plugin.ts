import fp from 'fastify-plugin'
import { type AccessTokens, createAccessTokens } from './access.ts'
import { createKeyStore, type KeyStore } from './keystore.ts'
import { createSealer } from './sealing.ts'

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyStore
    accessTokens: AccessTokens
  }
}

export default fp(
  async (app) => {
    const { tokens } = app.config
    const keys = createKeyStore({
      db: app.store.db,
      clock: app.clock,
      accessTtlSeconds: tokens.accessTtlSeconds,
      cacheSeconds: tokens.keyCacheSeconds,
      sealer: createSealer(tokens.signingKeySecrets),
    })
    await keys.init()
    app.decorate('keys', keys)
    app.decorate(
      'accessTokens',
      createAccessTokens({
        keys,
        clock: app.clock,
        issuer: tokens.issuer,
        audience: tokens.audience,
        ttlSeconds: tokens.accessTtlSeconds,
      }),
    )
  },
  { name: 'tokens', dependencies: ['core', 'store'] },
)
