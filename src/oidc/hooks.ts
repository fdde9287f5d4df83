import type { FastifyBaseLogger } from 'fastify'
import type Provider from 'oidc-provider'
import type { Clock } from '../clock.ts'
import type { SessionService } from '../sessions/service.ts'
import type { UserRepository } from '../users/repository.ts'
import type { sessionLinks } from './links.ts'

interface HookOptions {
  links: ReturnType<typeof sessionLinks>
  users: UserRepository
  sessions: SessionService
  clock: Clock
  log: FastifyBaseLogger
}

/**
 * What the provider does not know of usersvc, added after its own handling of a request:
 * - a sign-in's usersvc session is linked to the provider's session it opened (single sign-on
 *   then lasts as long as that session: provider.ts `usersvc_session_ended`);
 * - a confirmed logout ends that usersvc session too;
 * - introspection (RFC 7662) answers from the token alone: a disabled or deleted account's token
 *   is not active either (user info and refresh already ask findAccount).
 */
export function addHooks(provider: Provider, options: HookOptions) {
  provider.use(async (ctx, next) => {
    await next()
    try {
      await after(ctx, options)
    } catch (error) {
      // The library's answer stands; what did not follow it is logged, not a bare 500.
      options.log.error({ err: error, route: ctx.oidc?.route }, 'oidc: a hook failed')
    }
  })
}

async function after(
  ctx: Parameters<Parameters<Provider['use']>[0]>[0],
  { links, users, sessions, clock }: HookOptions,
) {
  const { oidc } = ctx
  if (oidc?.route === 'resume') {
    const sid = (oidc.result as { usersvc_session?: string } | undefined)?.usersvc_session
    if (sid && oidc.session?.uid) await links.link(oidc.session.uid, sid, clock.now())
  }
  if (oidc?.route === 'end_session_confirm' && ctx.status === 303 && oidc.params?.logout) {
    const uid = oidc.session?.uid
    const session = uid ? await links.liveSession(uid, clock.now()) : undefined
    if (session) await sessions.end(session.userId, session.id, 'logout')
    if (uid) await links.unlink(uid)
  }
  if (oidc?.route === 'introspection' && (ctx.body as { active?: boolean })?.active) {
    const { AccessToken, RefreshToken } = oidc.entities
    const accountId = (AccessToken ?? RefreshToken)?.accountId
    const user = accountId ? await users.findById(accountId) : undefined
    if (accountId && (!user || user.disabledAt)) ctx.body = { active: false }
  }
}
