import { type JWTPayload, jwtVerify, SignJWT } from 'jose'
import { v7 as uuidv7 } from 'uuid'
import type { Clock } from '../clock.ts'
import { isUnavailable } from '../db/errors.ts'
import { AppError } from '../errors.ts'
import { lru } from '../lru.ts'
import { isUuid } from '../text.ts'
import { ROLES, type Role } from '../users/types.ts'
import { ALG, type KeyStore } from './keystore.ts'

/** Authentication method references (RFC 8176) this service issues. */
export const AMR_VALUES = ['pwd', 'otp', 'hwk', 'swk', 'mfa'] as const
export type Amr = (typeof AMR_VALUES)[number]
/** Authenticator assurance levels (NIST SP 800-63B rev 4 §2). */
export const AAL_VALUES = ['aal1', 'aal2'] as const
export type Aal = (typeof AAL_VALUES)[number]

/** How a session was authenticated: carried by each of its access tokens. */
export interface Authentication {
  /** The session's id (GET /session/): ending it ends its access tokens too. */
  sid: string
  amr: Amr[]
  aal: Aal
}

export interface AccessClaims extends Authentication {
  sub: string
  role: Role
  iat: number
  exp: number
  jti: string
}

export interface AccessTokenOptions {
  keys: KeyStore
  clock: Clock
  issuer: string
  audience: string
  ttlSeconds: number
}

export interface AccessTokens {
  readonly ttlSeconds: number
  /**
   * Signs a token for the user, stamped `at` (default now), and always after `passwordChangedAt`
   * of the row the caller read: a token is refused unless it was issued after the last change
   * (see issuedAtMs), and an instance whose clock runs a little behind the one that took the
   * change must not issue one that is refused at once.
   */
  issue(
    subject: { id: string; role: Role; passwordChangedAt?: Date },
    session: Authentication,
    at?: Date,
  ): Promise<string>
  /** Throws AppError('invalid_token') for anything but a valid, current token of ours. */
  verify(token: string): Promise<AccessClaims>
}

// RFC 9068 media type for JWT access tokens: an ID token or another JWT cannot pass as one.
const TYP = 'at+jwt'
// Header members that would let a token choose its own verification key: never honoured.
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c']
/**
 * How far an iat may lie ahead of our clock: instances' clocks differ a little. jose checks exp
 * and nbf, not a future iat, and a token stamped later than it was issued would outlive a
 * password change made before that stamp (see issuedAtMs).
 */
export const IAT_MAX_SKEW_SECONDS = 60

export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
  const { keys, clock, issuer, audience, ttlSeconds } = options
  // Tokens already verified, until they expire: clients present one token for many requests,
  // and the signature check (WebCrypto, on the thread pool the password hashes also use) is the
  // expensive part of authenticating. Only successful checks are kept; expiry is still enforced.
  const verified = lru<string, AccessClaims>(10_000)
  return {
    ttlSeconds,
    async issue(subject, session, at) {
      const { kid, key } = await keys.signingKey()
      const issuedMs = (at ?? clock.now()).getTime()
      const nowMs = Math.max(issuedMs, (subject.passwordChangedAt?.getTime() ?? 0) + 1)
      const now = Math.floor(nowMs / 1000)
      return (
        new SignJWT({
          role: subject.role,
          sid: session.sid,
          amr: session.amr,
          aal: session.aal,
        })
          .setProtectedHeader({ alg: ALG, kid, typ: TYP })
          .setIssuer(issuer)
          .setAudience(audience)
          .setSubject(subject.id)
          .setIssuedAt(now)
          .setExpirationTime(now + ttlSeconds)
          // A UUIDv7: unique, and it carries the issue time to the millisecond (see issuedAtMs).
          .setJti(uuidv7({ msecs: nowMs }))
          .sign(key)
      )
    },
    async verify(token) {
      const cached = verified.get(token)
      if (cached && cached.exp * 1000 > clock.now().getTime()) return cached
      const claims = await verifyAfresh(token)
      verified.set(token, claims)
      return claims
    },
  }

  async function verifyAfresh(token: string): Promise<AccessClaims> {
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(
        token,
        async (header) => {
          if (FORBIDDEN_HEADERS.some((name) => name in header)) throw new Error('forbidden header')
          const key = header.kid ? await keys.verificationKey(header.kid) : undefined
          if (!key) throw new Error('unknown key')
          return key
        },
        {
          // EdDSA only: the store's RS256 keys sign ID tokens, and their kids resolve above too.
          algorithms: [ALG],
          issuer,
          audience,
          typ: TYP,
          currentDate: clock.now(),
          requiredClaims: ['sub', 'iat', 'exp', 'jti', 'sid', 'amr', 'aal'],
        },
      ))
    } catch (error) {
      // The key store could not be read: the token may be fine, the database is not (503).
      if (isUnavailable(error)) throw error
      throw invalidToken(error)
    }
    const nowSeconds = clock.now().getTime() / 1000
    if ((payload.iat as number) > nowSeconds + IAT_MAX_SKEW_SECONDS) throw invalidToken()
    // Claims reach SQL: even a token we signed must carry exactly the shapes we issue.
    if (!ROLES.includes(payload.role as Role)) throw invalidToken()
    if (!isUuid(payload.sub) || !isUuid(payload.sid)) throw invalidToken()
    if (!AAL_VALUES.includes(payload.aal as Aal)) throw invalidToken()
    const amr = payload.amr
    if (!Array.isArray(amr) || !amr.every((value) => AMR_VALUES.includes(value))) {
      throw invalidToken()
    }
    return payload as unknown as AccessClaims
  }
}

/**
 * When the token was issued, to the millisecond: `iat` has whole seconds only, which would let a
 * token issued just before a password change, in the same second, outlive it. Our jti is a
 * UUIDv7 stamped with the issue time. Without one (a token of an older version), the end of the
 * `iat` second: such a token is not refused for a change made later in its own second.
 */
export function issuedAtMs(claims: AccessClaims): number {
  const second = claims.iat * 1000
  const fallback = second + 999
  if (typeof claims.jti !== 'string' || claims.jti[14] !== '7') return fallback
  const stamped = Number.parseInt(claims.jti.slice(0, 8) + claims.jti.slice(9, 13), 16)
  // Signed by us together with iat, so they agree; a disagreement is not trusted.
  return stamped >= second && stamped <= fallback ? stamped : fallback
}

export function invalidToken(
  cause?: unknown,
  detail = 'The access token is invalid or expired.',
): AppError {
  return new AppError('invalid_token', {
    detail,
    cause,
    headers: { 'www-authenticate': 'Bearer realm="usersvc", error="invalid_token"' },
  })
}
