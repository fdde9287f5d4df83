import { hkdfSync } from 'node:crypto'
import fp from 'fastify-plugin'
import type Provider from 'oidc-provider'
import type { JWK } from 'oidc-provider'
import { userRepository } from '../users/repository.ts'
import { oidcAdapter } from './adapter.ts'
import { clientAdapter } from './client-adapter.ts'
import { secretMatches } from './clients/repository.ts'
import { consentRepository } from './consents.ts'
import { sessionLinks } from './links.ts'
import { buildProvider, isFirstParty } from './provider.ts'
import { oidcRepository } from './repository.ts'

const PRUNE_EVERY_MS = 60 * 60 * 1000
const PRUNE_BATCH = 1000

export interface Oidc {
  /** The provider over the current signing keys (rebuilt when they rotate). */
  provider(): Promise<Provider>
  issuer: string
}

declare module 'fastify' {
  interface FastifyInstance {
    oidc: Oidc
  }
}

/**
 * Keys for the provider's signed cookies, shared by every instance: from SIGNING_KEY_SECRET when
 * it is set, else from the EdDSA private key (a rotation then asks browsers to sign in again,
 * which a live usersvc session answers without a password).
 */
function cookieKeys(secrets: string[], keys: JWK[]): string[] {
  const material =
    secrets.length > 0 ? secrets : keys.filter((k) => k.kty === 'OKP').map((k) => String(k.d))
  return material.map((secret) =>
    Buffer.from(hkdfSync('sha256', secret, 'usersvc', 'oidc cookies', 32)).toString('base64url'),
  )
}

export default fp(
  async (app) => {
    const { db } = app.store
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
        cookieKeys: cookieKeys(app.config.tokens.signingKeySecrets, keys),
        adapter,
        compareSecret: secretMatches,
        ttl: {
          accessSeconds: app.config.tokens.accessTtlSeconds,
          refreshSeconds: app.config.tokens.refreshTtlSeconds,
        },
        async findAccount(_ctx, sub) {
          const user = await users.findById(sub)
          if (!user || user.disabledAt) return undefined
          return {
            accountId: user.id,
            claims: async () => ({
              sub: user.id,
              preferred_username: user.login,
              ...(user.email
                ? { email: user.email, email_verified: user.emailVerifiedAt !== null }
                : {}),
            }),
          }
        },
        sessionAlive: async (uid) => (await links.liveSession(uid)) !== undefined,
        async rememberedGrant(ctx) {
          const { client, session } = ctx.oidc
          const accountId = session?.accountId
          if (!client || !accountId) return undefined
          const asked = String(ctx.oidc.params?.scope ?? '')
            .split(' ')
            .filter(Boolean)
          const allowed = isFirstParty(client)
            ? asked
            : await consentRepository(db).find(accountId, client.clientId)
          if (!allowed) return undefined
          const grant = new ctx.oidc.provider.Grant({ accountId, clientId: client.clientId })
          grant.addOIDCScope(allowed.filter((scope) => asked.includes(scope)).join(' '))
          await grant.save()
          return grant
        },
      })
      // X-Forwarded-* reach it only as routes.ts sets them from what Fastify established.
      provider.proxy = true
      // The usersvc session a sign-in rested on: bound to the provider's session once it exists.
      provider.use(async (ctx, next) => {
        const ending = ctx.path === '/oauth2/logout/confirm' ? ctx.oidc?.session?.uid : undefined
        await next()
        // RFC 7662 answers from the token alone; a disabled or deleted account's token is not
        // active either (user info and refresh already ask findAccount).
        if (ctx.oidc?.route === 'introspection' && (ctx.body as { active?: boolean })?.active) {
          const { AccessToken, RefreshToken } = ctx.oidc.entities
          const accountId = (AccessToken ?? RefreshToken)?.accountId
          const user = accountId ? await users.findById(accountId) : undefined
          if (accountId && (!user || user.disabledAt)) ctx.body = { active: false }
        }
        if (ctx.oidc?.route === 'resume') {
          const sid = (ctx.oidc.result as { usersvc_session?: string } | undefined)?.usersvc_session
          if (sid && ctx.oidc.session?.uid)
            await links.link(ctx.oidc.session.uid, sid, app.clock.now())
        }
        if (
          ctx.oidc?.route === 'end_session_confirm' &&
          ctx.status === 303 &&
          ctx.oidc.params?.logout
        ) {
          const uid = ending ?? ctx.oidc.session?.uid
          const session = uid ? await links.liveSession(uid) : undefined
          if (session) await app.sessions.end(session.userId, session.id, 'logout')
          if (uid) await links.unlink(uid)
        }
      })
      provider.on('server_error', (_ctx, error) =>
        app.log.error({ err: error }, 'oidc server error'),
      )
      return provider
    }

    let built: { kids: string; provider: Provider } | undefined
    let building: Promise<Provider> | undefined
    async function provider(): Promise<Provider> {
      const keys = await app.keys.providerKeys()
      const kids = keys.map((key) => key.kid).join(' ')
      if (built && built.kids === kids) return built.provider
      building ??= build(keys).then(
        (fresh) => {
          built = { kids, provider: fresh }
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
    app.decorate('oidc', { provider, issuer })

    const prune = async () => {
      try {
        const removed = await oidcRepository(db).prune(app.clock.now(), PRUNE_BATCH)
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
