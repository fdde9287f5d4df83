import type { Db } from '../db/schema.ts'
import { type AccessTokens, invalidToken, issuedAtMs } from '../tokens/access.ts'
import { userRepository } from '../users/repository.ts'
import type { User } from '../users/types.ts'

/**
 * "Who is this?" for an access token: valid, ours, current (tokens/access.ts), and its user still
 * exists and has not changed the password since it was issued. Throws 401 invalid_token, or 503
 * when the store cannot answer.
 */
export function bearerResolver(db: Db, accessTokens: AccessTokens) {
  const users = userRepository(db)
  return async (token: string): Promise<User> => {
    const claims = await accessTokens.verify(token)
    const found = await users.findById(claims.sub)
    // A deleted user's tokens die with it; a password change ends older tokens here too.
    if (!found) throw invalidToken(undefined, 'The user of this token no longer exists.')
    // Issued at or before the last change: a token signed in the same millisecond as the change
    // may come from a refresh that the change then ended.
    if (issuedAtMs(claims) <= found.passwordChangedAt.getTime()) {
      throw invalidToken(undefined, 'The password was changed after this token was issued.')
    }
    return found
  }
}
