import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { Hasher } from '../passwords/hasher.ts'
import { normalisePassword } from '../passwords/policy.ts'
import { fold } from '../text.ts'
import type { Throttle } from '../throttle/throttle.ts'
import type { AccessTokens } from '../tokens/access.ts'
import { checkLogin } from '../users/login.ts'
import { type User, userRepository, withoutHash } from '../users/repository.ts'
import { newRefreshSecret, parseRefreshToken, secretMatches } from './refresh-token.ts'
import { refreshTokenRepository } from './repository.ts'

export interface TokenPair {
  accessToken: string
  expiresIn: number
  refreshToken: string
  user: User
}

export interface SessionServiceOptions {
  db: Db
  clock: Clock
  hasher: Hasher
  accessTokens: AccessTokens
  throttle: Throttle
  refreshTtlSeconds: number
  onReuse?: (family: ReusedFamily) => void
}

const invalidCredentials = () => new AppError('invalid_credentials')
const invalidRefresh = () => new AppError('invalid_refresh_token')

interface ReusedFamily {
  familyId: string
  userId: string
}

type RefreshOutcome =
  | { ok: true; user: User; refreshToken: string; issuedAt: Date }
  | { ok: false; reused?: ReusedFamily }

const refused: RefreshOutcome = { ok: false }

export function createSessionService(options: SessionServiceOptions) {
  const { db, clock, hasher, accessTokens, throttle, refreshTtlSeconds } = options
  const users = userRepository(db)

  async function newRefreshToken(
    tokens: ReturnType<typeof refreshTokenRepository>,
    user: User,
    familyId?: string,
  ) {
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

  async function pair(user: User, refreshToken: string, issuedAt?: Date): Promise<TokenPair> {
    const accessToken = await accessTokens.issue(user, issuedAt)
    return { accessToken, expiresIn: accessTokens.ttlSeconds, refreshToken, user }
  }

  return {
    /**
     * Unknown login and wrong password are one answer, after the same work: an unknown or
     * malformed login still pays for an argon2id verify against a dummy hash, and is throttled
     * exactly like an existing one.
     */
    async login(login: string, password: string, address: string): Promise<TokenPair> {
      await throttle.loginAttempt(address)
      // Under overload, refuse before any other work: a refusal must stay cheap.
      hasher.limiter.assertAdmits()
      const checked = checkLogin(login)
      const found = checked.ok ? await users.findByKey(checked.key) : undefined
      const normalised = normalisePassword(password)
      const ok = await throttle.guard(checked.ok ? checked.key : fold(login), address, () =>
        found
          ? hasher.verify(found.passwordHash, normalised)
          : hasher.verifyDummy(normalised).then(() => false),
      )
      if (!found || !ok) throw invalidCredentials()
      if (hasher.needsRehash(found.passwordHash)) {
        await users.replaceHash(found.id, found.passwordHash, await hasher.hash(normalised))
      }
      const user = withoutHash(found)
      // The password may have been changed while it was being checked: that change ends every
      // session, so this one must not begin after it. Its time is taken under the lock too, so
      // that a change coming right after this COMMIT refuses the access token signed below.
      const begun = await db.transaction().execute(async (trx) => {
        if (!(await userRepository(trx).hold(user.id, user.passwordChangedAt))) return undefined
        const at = clock.now()
        return { at, refreshToken: await newRefreshToken(refreshTokenRepository(trx), user) }
      })
      if (!begun) throw invalidCredentials()
      return pair(user, begun.refreshToken, begun.at)
    },

    /**
     * Rotation with reuse detection (RFC 9700 §4.14.2): the presented token is spent; a spent
     * token presented again revokes its whole family, since either the client or a thief
     * holds a copy. Of two concurrent refreshes with one token, only one can spend it.
     */
    async refresh(token: string): Promise<TokenPair> {
      const parsed = parseRefreshToken(token)
      if (!parsed) throw invalidRefresh()
      const outcome = await db.transaction().execute(async (trx): Promise<RefreshOutcome> => {
        const tokens = refreshTokenRepository(trx)
        const users = userRepository(trx)
        const presented = await tokens.findById(parsed.id)
        if (!presented || !secretMatches(parsed.secret, presented.tokenHash)) return refused
        // The user first, then its tokens: the order a password change takes them in. A change
        // either committed before (and this token is revoked, as read below) or waits for this
        // COMMIT and then revokes the successor too, and refuses the access token issued here:
        // its time is taken now, before the change takes its own.
        if (!(await users.hold(presented.userId))) return refused
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
        const found = await users.findById(row.userId)
        if (!found) return refused
        const user = withoutHash(found)
        const refreshToken = await newRefreshToken(tokens, user, row.familyId)
        return { ok: true, user, refreshToken, issuedAt: now }
      })
      // Signed after COMMIT: the transaction (one connection on SQLite) is held no longer than needed.
      if (outcome.ok) return pair(outcome.user, outcome.refreshToken, outcome.issuedAt)
      if (outcome.reused) options.onReuse?.(outcome.reused)
      throw invalidRefresh()
    },

    /**
     * Every session of the user ends: all its refresh tokens are revoked, under the user's lock,
     * so that a refresh or login committing meanwhile is waited for and its token revoked too.
     */
    async logoutEverywhere(userId: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await userRepository(trx).hold(userId)
        await refreshTokenRepository(trx).revokeAllOfUser(userId, clock.now())
      })
    },

    /** Logout: revokes the token's family. Unknown or spent tokens are fine: logout is idempotent. */
    async logout(token: string): Promise<void> {
      const parsed = parseRefreshToken(token)
      if (!parsed) return
      const row = await refreshTokenRepository(db).findById(parsed.id)
      if (!row || !secretMatches(parsed.secret, row.tokenHash)) return
      // Under the user's lock, like a refresh: a successor committed meanwhile is revoked too.
      await db.transaction().execute(async (trx) => {
        await userRepository(trx).hold(row.userId)
        await refreshTokenRepository(trx).revokeFamily(row.familyId, clock.now())
      })
    },
  }
}

export type SessionService = ReturnType<typeof createSessionService>
