import type { Account, KoaContextWithOIDC } from 'oidc-provider'
import type { Db } from '../db/schema.ts'
import type { UserRepository } from '../users/repository.ts'
import { consentRepository } from './consents.ts'
import { isFirstParty } from './provider.ts'

/** The provider's view of a user: none for a disabled or deleted account (tokens then fail). */
export function accountFinder(users: UserRepository) {
  return async (_ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> => {
    const user = await users.findById(sub)
    if (!user || user.disabledAt) return undefined
    return {
      accountId: user.id,
      // The library releases these by scope (provider.ts `claims`).
      claims: async () => ({
        sub: user.id,
        preferred_username: user.login,
        ...(user.email ? { email: user.email, email_verified: user.emailVerifiedAt !== null } : {}),
      }),
    }
  }
}

/**
 * A grant for a client the browser's session has none for: everything asked, for a first-party
 * client; what the user allowed before (oauth_consents), for another. The consent prompt then
 * asks only for what is missing.
 */
export function rememberedGrants(db: Db) {
  return async (ctx: KoaContextWithOIDC) => {
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
  }
}
