import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { RecordEvent, SessionEndReason } from '../events/catalogue.ts'
import type { AccessTokens, Authentication } from '../tokens/access.ts'
import { withUserLock } from '../users/lock.ts'
import { userRepository } from '../users/repository.ts'
import type { User } from '../users/types.ts'
import { newRefreshSecret, parseRefreshToken, secretMatches } from './refresh-token.ts'
import { type RefreshTokenRepository, refreshTokenRepository } from './repository.ts'
import { type Session, sessionRepository } from './session-repository.ts'

export interface TokenPair {
  accessToken: string
  expiresIn: number
  refreshToken: string
  user: User
}

/** How the holder proved who they are: what the new session's tokens will say (amr, aal). */
export type Proof = Omit<Authentication, 'sid'>

/** Where the session was started from, to show in its list. */
export interface Client {
  userAgent: string | undefined
  address: string
}

// A browser's User-Agent is a few hundred characters; what is kept is for the eye only.
const USER_AGENT_MAX = 256

export interface SessionServiceOptions {
  db: Db
  clock: Clock
  accessTokens: AccessTokens
  refreshTtlSeconds: number
  events: RecordEvent
  onReuse?: (family: ReusedFamily) => void
}

interface ReusedFamily {
  familyId: string
  userId: string
}

type RefreshOutcome =
  | { ok: true; user: User; refreshToken: string; issuedAt: Date; session: Authentication }
  | { ok: false; reused?: ReusedFamily }

const refused: RefreshOutcome = { ok: false }
const invalidRefresh = () => new AppError('invalid_refresh_token')

/**
 * Ends every session of the user: all its refresh tokens are revoked, and each live session's
 * end is an event. Inside `withUserLock` (users/lock.ts), in the same transaction as the change
 * that ends them (a new password, a disable, a deletion).
 */
export async function endSessionsOf(
  trx: Db,
  userId: string,
  at: Date,
  reason: SessionEndReason,
  events: RecordEvent,
): Promise<void> {
  await refreshTokenRepository(trx).revokeAllOfUser(userId, at)
  for (const id of await sessionRepository(trx).endAllOf(userId, at)) {
    await events(trx, { type: 'session.ended', userId, at, data: { session_id: id, reason } })
  }
}

/**
 * Sessions: a refresh-token family per login, with an access token beside each refresh token.
 * Starting, rotating and ending them; whether someone may start one is authn/'s business.
 */
export function createSessionService(options: SessionServiceOptions) {
  const { db, clock, accessTokens, refreshTtlSeconds, events } = options

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

  async function pair(
    user: User,
    session: Authentication,
    refreshToken: string,
    issuedAt: Date,
  ): Promise<TokenPair> {
    const accessToken = await accessTokens.issue(user, session, issuedAt)
    return { accessToken, expiresIn: accessTokens.ttlSeconds, refreshToken, user }
  }

  async function endFamily(
    trx: Db,
    userId: string,
    familyId: string,
    reason: SessionEndReason,
  ): Promise<boolean> {
    const now = clock.now()
    await refreshTokenRepository(trx).revokeFamily(userId, familyId, now)
    const ended = await sessionRepository(trx).end(userId, familyId, now)
    if (ended) {
      const data = { session_id: familyId, reason }
      await events(trx, { type: 'session.ended', userId, at: now, data })
    }
    return ended
  }

  return {
    /**
     * A new session for `user`, whose password (or other proof) was checked as of
     * `user.passwordChangedAt`. Undefined when the password changed meanwhile: that change ends
     * every session, so this one must not begin after it. Its time is taken under the lock, so
     * that a change coming right after this COMMIT refuses the access token signed below.
     *
     * `within` runs in the same transaction first (spending what the proof used up): when it
     * answers false, nothing begins and the answer is undefined too.
     */
    async start(
      user: User,
      proof: Proof,
      client: Client,
      within?: (trx: Db, now: Date) => Promise<boolean>,
    ): Promise<TokenPair | undefined> {
      const begun = await withUserLock(
        db,
        user.id,
        async (trx) => {
          const at = clock.now()
          if (within && !(await within(trx, at))) return undefined
          const refreshToken = await newRefreshToken(refreshTokenRepository(trx), user)
          const sid = parseRefreshToken(refreshToken)?.id as string
          await sessionRepository(trx).insert({
            id: sid,
            userId: user.id,
            createdAt: at,
            expiresAt: new Date(at.getTime() + refreshTtlSeconds * 1000),
            userAgent: client.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
            address: client.address,
            ...proof,
          })
          const data = { session_id: sid, amr: proof.amr, aal: proof.aal }
          await events(trx, { type: 'session.created', userId: user.id, at, data })
          return { at, refreshToken, session: { sid, ...proof } }
        },
        // Not after a disable either: it ends every session, so none may begin after it.
        { passwordChangedAt: user.passwordChangedAt, enabled: true },
      )
      return begun && pair(user, begun.session, begun.refreshToken, begun.at)
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
            await tokens.revokeFamily(row.userId, row.familyId, now)
            // Its access tokens are refused from now on too, not only when they expire.
            const ended = await sessionRepository(trx).end(row.userId, row.familyId, now)
            const session = { session_id: row.familyId }
            const userId = row.userId
            await events(trx, { type: 'session.reuse_detected', userId, at: now, data: session })
            if (ended) {
              const data = { ...session, reason: 'revoked' }
              await events(trx, { type: 'session.ended', userId, at: now, data })
            }
            return { ok: false, reused: { familyId: row.familyId, userId: row.userId } }
          }
          if (row.usedAt) return reuse()
          if (row.expiresAt <= now) return refused
          // Spent a moment ago by a concurrent refresh with the same token.
          if (!(await tokens.markUsed(row.id, now))) return reuse()
          const user = await userRepository(trx).findById(row.userId)
          if (!user) return refused
          // A session refreshes at the level it was started at, and not once it has ended.
          const sessions = sessionRepository(trx)
          const session = await sessions.findLive(row.familyId)
          if (!session) return refused
          const refreshToken = await newRefreshToken(tokens, user, row.familyId)
          await sessions.touch(session.id, now, new Date(now.getTime() + refreshTtlSeconds * 1000))
          const { aal, amr } = session
          return {
            ok: true,
            user,
            refreshToken,
            issuedAt: now,
            session: { sid: session.id, aal, amr },
          }
        })) ?? refused
      // Signed after COMMIT: the transaction (one connection on SQLite) is held no longer than needed.
      if (outcome.ok) {
        return pair(outcome.user, outcome.session, outcome.refreshToken, outcome.issuedAt)
      }
      if (outcome.reused) options.onReuse?.(outcome.reused)
      throw invalidRefresh()
    },

    /** Log out everywhere: every refresh token of the user is revoked. */
    async endAll(userId: string): Promise<void> {
      await withUserLock(db, userId, (trx) =>
        endSessionsOf(trx, userId, clock.now(), 'logout_all', events),
      )
    },

    /** Logout: revokes the token's family. Unknown or spent tokens are fine: logout is idempotent. */
    async logout(token: string): Promise<void> {
      const parsed = parseRefreshToken(token)
      if (!parsed) return
      const row = await refreshTokenRepository(db).findById(parsed.id)
      if (!row || !secretMatches(parsed.secret, row.tokenHash)) return
      // Under the user's lock, like a refresh: a successor committed meanwhile is revoked too.
      await withUserLock(db, row.userId, (trx) =>
        endFamily(trx, row.userId, row.familyId, 'logout'),
      )
    },

    /** The user's live sessions, newest use first. */
    list: (userId: string): Promise<Session[]> =>
      sessionRepository(db).listLive(userId, clock.now()),

    /**
     * Ends one of the user's sessions: its refresh tokens are revoked and its access tokens
     * refused from now on. False when it is not the user's, or has ended already.
     */
    async end(
      userId: string,
      sessionId: string,
      reason: 'revoked' | 'logout' = 'revoked',
    ): Promise<boolean> {
      const ended = await withUserLock(db, userId, (trx) =>
        endFamily(trx, userId, sessionId, reason),
      )
      return ended === true
    },
  }
}

export type SessionService = ReturnType<typeof createSessionService>
