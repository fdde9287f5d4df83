import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { AccessTokens } from '../tokens/access.ts'
import { withUserLock } from '../users/lock.ts'
import { userRepository } from '../users/repository.ts'
import type { User } from '../users/types.ts'
import { newRefreshSecret, parseRefreshToken, secretMatches } from './refresh-token.ts'
import { type RefreshTokenRepository, refreshTokenRepository } from './repository.ts'

export interface TokenPair {
  accessToken: string
  expiresIn: number
  refreshToken: string
  user: User
}

export interface SessionServiceOptions {
  db: Db
  clock: Clock
  accessTokens: AccessTokens
  refreshTtlSeconds: number
  onReuse?: (family: ReusedFamily) => void
}

interface ReusedFamily {
  familyId: string
  userId: string
}

type RefreshOutcome =
  | { ok: true; user: User; refreshToken: string; issuedAt: Date }
  | { ok: false; reused?: ReusedFamily }

const refused: RefreshOutcome = { ok: false }
const invalidRefresh = () => new AppError('invalid_refresh_token')

/**
 * Ends every session of the user: all its refresh tokens are revoked. Inside `withUserLock`
 * (users/lock.ts), in the same transaction as the change that ends them (a new password).
 */
export async function endSessionsOf(trx: Db, userId: string, at: Date): Promise<void> {
  await refreshTokenRepository(trx).revokeAllOfUser(userId, at)
}

/**
 * Sessions: a refresh-token family per login, with an access token beside each refresh token.
 * Starting, rotating and ending them; whether someone may start one is authn/'s business.
 */
export function createSessionService(options: SessionServiceOptions) {
  const { db, clock, accessTokens, refreshTtlSeconds } = options

  async function newRefreshToken(tokens: RefreshTokenRepository, user: User, familyId?: string) {
    const now = clock.now()
    const secret = newRefreshSecret()
    await tokens.insert({
      id: secret.id,
      familyId: familyId ?? secret.id,
      userId: user.id,
      tokenHash: secret.hash,
      createdAt: now,
      expiresAt: new Date(now.getTime() + refreshTtlSeconds * 1000),
    })
    return secret.token
  }

  async function pair(user: User, refreshToken: string, issuedAt: Date): Promise<TokenPair> {
    const accessToken = await accessTokens.issue(user, issuedAt)
    return { accessToken, expiresIn: accessTokens.ttlSeconds, refreshToken, user }
  }

  return {
    /**
     * A new session for `user`, whose password was checked as of `user.passwordChangedAt`.
     * Undefined when the password changed meanwhile: that change ends every session, so this one
     * must not begin after it. Its time is taken under the lock, so that a change coming right
     * after this COMMIT refuses the access token signed below.
     */
    async start(user: User): Promise<TokenPair | undefined> {
      const begun = await withUserLock(
        db,
        user.id,
        async (trx) => ({
          at: clock.now(),
          refreshToken: await newRefreshToken(refreshTokenRepository(trx), user),
        }),
        { passwordChangedAt: user.passwordChangedAt },
      )
      return begun && pair(user, begun.refreshToken, begun.at)
    },

    /**
     * Rotation with reuse detection (RFC 9700 §4.14.2): the presented token is spent; a spent
     * token presented again revokes its whole family, since either the client or a thief
     * holds a copy. Of two concurrent refreshes with one token, only one can spend it.
     */
    async refresh(token: string): Promise<TokenPair> {
      const parsed = parseRefreshToken(token)
      if (!parsed) throw invalidRefresh()
      const presented = await refreshTokenRepository(db).findById(parsed.id)
      if (!presented || !secretMatches(parsed.secret, presented.tokenHash)) throw invalidRefresh()
      // Read again under the user's lock: a password change either committed before (and this
      // token is revoked) or waits for this COMMIT and then revokes the successor too, and refuses
      // the access token issued here: its time is taken now, before the change takes its own.
      const outcome =
        (await withUserLock(db, presented.userId, async (trx): Promise<RefreshOutcome> => {
          const tokens = refreshTokenRepository(trx)
          const row = await tokens.findById(parsed.id)
          if (!row || row.revokedAt) return refused
          const now = clock.now()
          // A spent token presented again means a copy is out there: end the whole family.
          const reuse = async (): Promise<RefreshOutcome> => {
            await tokens.revokeFamily(row.familyId, now)
            return { ok: false, reused: { familyId: row.familyId, userId: row.userId } }
          }
          if (row.usedAt) return reuse()
          if (row.expiresAt <= now) return refused
          // Spent a moment ago by a concurrent refresh with the same token.
          if (!(await tokens.markUsed(row.id, now))) return reuse()
          const user = await userRepository(trx).findById(row.userId)
          if (!user) return refused
          const refreshToken = await newRefreshToken(tokens, user, row.familyId)
          return { ok: true, user, refreshToken, issuedAt: now }
        })) ?? refused
      // Signed after COMMIT: the transaction (one connection on SQLite) is held no longer than needed.
      if (outcome.ok) return pair(outcome.user, outcome.refreshToken, outcome.issuedAt)
      if (outcome.reused) options.onReuse?.(outcome.reused)
      throw invalidRefresh()
    },

    /** Log out everywhere: every refresh token of the user is revoked. */
    async endAll(userId: string): Promise<void> {
      await withUserLock(db, userId, (trx) => endSessionsOf(trx, userId, clock.now()))
    },

    /** Logout: revokes the token's family. Unknown or spent tokens are fine: logout is idempotent. */
    async logout(token: string): Promise<void> {
      const parsed = parseRefreshToken(token)
      if (!parsed) return
      const row = await refreshTokenRepository(db).findById(parsed.id)
      if (!row || !secretMatches(parsed.secret, row.tokenHash)) return
      // Under the user's lock, like a refresh: a successor committed meanwhile is revoked too.
      await withUserLock(db, row.userId, (trx) =>
        refreshTokenRepository(trx).revokeFamily(row.familyId, clock.now()),
      )
    },
  }
}

export type SessionService = ReturnType<typeof createSessionService>
