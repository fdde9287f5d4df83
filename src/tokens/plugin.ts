import fp from 'fastify-plugin'
import { type AccessTokens, createAccessTokens } from './access.ts'
import { createKeyStore, type KeyStore } from './keystore.ts'
import { createSealer, type Sealer } from './sealing.ts'

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyStore
    accessTokens: AccessTokens
    /** Seals secrets at rest under SIGNING_KEY_SECRET (plain when it is not set). */
    sealer: Sealer
  }
}

export default fp(
  async (app) => {
    const { tokens } = app.config
    const sealer = createSealer(tokens.signingKeySecrets)
    app.decorate('sealer', sealer)
    const keys = createKeyStore({
      db: app.store.db,
      clock: app.clock,
      accessTtlSeconds: tokens.accessTtlSeconds,
      cacheSeconds: tokens.keyCacheSeconds,
      sealer,
      events: app.events.record,
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
  { name: 'tokens', dependencies: ['core', 'store', 'events'] },
)
