import fp from 'fastify-plugin'
import type Provider from 'oidc-provider'
import type { JWK } from 'oidc-provider'
import { userRepository } from '../users/repository.ts'
import { accountFinder, rememberedGrants } from './accounts.ts'
import { oidcAdapter } from './adapter.ts'
import { clientAdapter } from './client-adapter.ts'
import { secretMatches } from './clients/repository.ts'
import { cookieKey } from './cookie-keys.ts'
import { followAccounts } from './follow.ts'
import { addHooks } from './hooks.ts'
import { sessionLinks } from './links.ts'
import { buildProvider } from './provider.ts'
import { oidcRepository } from './repository.ts'

const PRUNE_EVERY_MS = 60 * 60 * 1000
const PRUNE_BATCH = 1000

export interface Oidc {
  /** The provider over the current signing keys (rebuilt when they rotate). */
  provider(): Promise<Provider>
  /** Its request handler (Koa's, composed once per provider). */
  handler(): Promise<ReturnType<Provider['callback']>>
  issuer: string
}

declare module 'fastify' {
  interface FastifyInstance {
    oidc: Oidc
  }
}

export default fp(
  async (app) => {
    const { db } = app.store
    followAccounts(app.events)
    const issuer = app.config.mail.publicUrl.replace(/\/$/, '')
    const links = sessionLinks(db)
    const users = userRepository(db)
    const adapter = oidcAdapter({
      db,
      clock: app.clock,
      events: app.events.record,
      clients: clientAdapter(db),
    })

    async function build(keys: JWK[]): Promise<Provider> {
      const provider = buildProvider({
        issuer,
        keys,
        cookieKeys: [await cookieKey(db, app.sealer)],
        adapter,
        compareSecret: secretMatches,
        ttl: {
          accessSeconds: app.config.tokens.accessTtlSeconds,
          refreshSeconds: app.config.tokens.refreshTtlSeconds,
        },
        findAccount: accountFinder(users),
        sessionAlive: async (uid) => (await links.liveSession(uid, app.clock.now())) !== undefined,
        rememberedGrant: rememberedGrants(db),
      })
      // Koa's proxy mode: routes.ts replaces X-Forwarded-* with what Fastify established (the
      // interaction routes hand it requests too, but only for their cookies).
      provider.proxy = true
      addHooks(provider, {
        links,
        users,
        sessions: app.sessions,
        clock: app.clock,
        log: app.log,
      })
      provider.on('server_error', (_ctx, error) =>
        app.log.error({ err: error }, 'oidc server error'),
      )
      return provider
    }

    let built:
      | { kids: string; provider: Provider; handler: ReturnType<Provider['callback']> }
      | undefined
    let building: Promise<Provider> | undefined
    async function provider(): Promise<Provider> {
      const keys = await app.keys.providerKeys()
      const kids = keys.map((key) => key.kid).join(' ')
      if (built && built.kids === kids) return built.provider
      building ??= build(keys).then(
        (fresh) => {
          built = { kids, provider: fresh, handler: fresh.callback() }
          building = undefined
          return fresh
        },
        (error: unknown) => {
          building = undefined
          throw error
        },
      )
      return building
    }
    async function handler() {
      await provider()
      if (!built) throw new Error('the OpenID provider is not built')
      return built.handler
    }
    app.decorate('oidc', { provider, handler, issuer })

    const prune = async () => {
      try {
        // In batches, so no one statement holds the table long; until a batch is not full.
        let removed = 0
        let batch: number
        do {
          batch = await oidcRepository(db).prune(app.clock.now(), PRUNE_BATCH)
          removed += batch
        } while (batch === PRUNE_BATCH)
        if (removed > 0) app.log.info({ removed }, 'pruned expired OpenID provider records')
      } catch (error) {
        app.log.warn({ err: error }, 'pruning OpenID provider records failed')
      }
    }
    const timer = setInterval(prune, PRUNE_EVERY_MS).unref()
    app.addHook('onClose', async () => clearInterval(timer))
  },
  { name: 'oidc', dependencies: ['core', 'store', 'tokens', 'events', 'sessions'] },
)
