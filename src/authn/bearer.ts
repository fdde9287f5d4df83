import type { Db } from '../db/schema.ts'
import { sessionRepository } from '../sessions/session-repository.ts'
import {
  type AccessTokens,
  type Authentication,
  invalidToken,
  issuedAtMs,
} from '../tokens/access.ts'
import { userRepository } from '../users/repository.ts'
import type { User } from '../users/types.ts'

/** Who the bearer is, and how their session was authenticated. */
export interface Bearer {
  user: User
  authentication: Authentication
}

/**
 * "Who is this?" for an access token: valid, ours, current (tokens/access.ts), its user still
 * exists and has not changed the password since it was issued, and its session has not ended
 * (logged out, ended from the list, or revoked for refresh-token reuse). Throws 401
 * invalid_token, or 503 when the store cannot answer.
 */
export function bearerResolver(db: Db, accessTokens: AccessTokens) {
  const users = userRepository(db)
  const sessions = sessionRepository(db)
  return async (token: string): Promise<Bearer> => {
    const claims = await accessTokens.verify(token)
    const [found, ended] = await Promise.all([
      users.findById(claims.sub),
      sessions.hasEnded(claims.sid),
    ])
    // A deleted user's tokens die with it; a password change ends older tokens here too.
    if (!found) throw invalidToken(undefined, 'The user of this token no longer exists.')
    // Issued at or before the last change: a token signed in the same millisecond as the change
    // may come from a refresh that the change then ended.
    if (issuedAtMs(claims) <= found.passwordChangedAt.getTime()) {
      throw invalidToken(undefined, 'The password was changed after this token was issued.')
    }
    if (ended) throw invalidToken(undefined, 'The session of this token has ended.')
    // Disabling ends every session (above); this holds even for a token of no session row.
    if (found.disabledAt) throw invalidToken(undefined, 'The account of this token is disabled.')
    return { user: found, authentication: { sid: claims.sid, amr: claims.amr, aal: claims.aal } }
  }
}
