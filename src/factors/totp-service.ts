import { v7 as uuidv7 } from 'uuid'
import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import type { Language } from '../outbox/mail.ts'
import type { Record as RecordFn } from '../outbox/record.ts'
import { isUuid } from '../text.ts'
import type { Throttle } from '../throttle/throttle.ts'
import type { Sealer } from '../tokens/sealing.ts'
import { withUserLock } from '../users/lock.ts'
import type { User } from '../users/types.ts'
import { recordFactorEvent } from './events.ts'
import { factorName, wrongPassword } from './factor-service.ts'
import { recordNotice } from './notice.ts'
import { factorRepository } from './repository.ts'
import {
  decodeBase32,
  encodeBase32,
  matchStep,
  newTotpSecret,
  otpauthUri,
  parseTotpCode,
} from './totp.ts'
import type { Factor, TotpFactor } from './types.ts'

/** A pending factor not confirmed within this long is dead (and pruned). */
export const PENDING_TTL_MS = 15 * 60 * 1000
export const DEFAULT_TOTP_NAME = 'Authenticator app'
/** The JWE content type of a sealed TOTP secret (tokens/sealing.ts). */
const SEALED_TYPE = 'totp+base32'

export interface TotpServiceOptions {
  db: Db
  clock: Clock
  /** Seals secrets under SIGNING_KEY_SECRET; stores them plain when that is not set. */
  sealer: Sealer
  throttle: Throttle
  record: RecordFn
  events: RecordEvent
  /** The otpauth issuer: the service's token issuer. */
  issuer: string
  /** The one password check by the caller's id (authn/password.ts, given by the plugin). */
  confirmPassword(userId: string, password: string, address: string): Promise<User | undefined>
}

export interface TotpEnrolment {
  id: string
  /** Shown this once: base32, no padding. */
  secret: string
  otpauthUri: string
}

export interface TotpService {
  /** A new pending factor, confirmed by the password (401 invalid_credentials); 422 for a bad name. */
  enrol(
    actor: User,
    password: string,
    name: string | undefined,
    address: string,
  ): Promise<TotpEnrolment>
  /**
   * The caller's pending factor becomes active with its first code: 404 not_found when it is not
   * theirs, 400 invalid_code for a wrong code or a factor that is active already or dead.
   */
  confirm(
    actor: User,
    id: string,
    code: string,
    address: string,
    language: Language,
  ): Promise<Factor>
  /**
   * Is `code` the current code of one of the user's active TOTP factors? For a login's second
   * step. The attempt counts in the account's throttle from `address` like a password: while
   * backing off it throws 429 rate_limited (an AppError) before any check. A time step is
   * accepted once per factor: a replayed code, or one of an earlier step, is false. What is
   * not 6 digits is false at once and counts nowhere.
   */
  verify(user: Pick<User, 'id' | 'loginKey'>, code: string, address: string): Promise<boolean>
  /** Housekeeping: removes pending factors that can no longer be confirmed; how many. */
  prunePending(): Promise<number>
}

const invalidCode = () => new AppError('invalid_code')
const noSuchFactor = () => new AppError('not_found', { detail: 'No such factor.' })

/** Without SIGNING_KEY_SECRET (or from before it) a secret is stored as its base32. */
const isSealed = (stored: string) => stored.includes('.')

function publicFactor({ secret: _secret, lastStep: _step, ...factor }: TotpFactor): Factor {
  return factor
}

/** TOTP (RFC 6238) as a second factor: enrolment, its confirmation, and codes at login. */
export function createTotpService(options: TotpServiceOptions): TotpService {
  const { db, clock, sealer, throttle, record, issuer, confirmPassword } = options
  const factors = factorRepository(db)

  async function keyOf(factor: TotpFactor): Promise<Uint8Array> {
    const secret = isSealed(factor.secret)
      ? await sealer.open(factor.id, factor.secret, SEALED_TYPE)
      : factor.secret
    const key = decodeBase32(secret)
    if (!key) throw new Error(`TOTP factor ${factor.id}: the stored secret is not base32`)
    return key
  }

  const deadBefore = (now: Date) => new Date(now.getTime() - PENDING_TTL_MS)

  return {
    async enrol(actor, password, name, address) {
      const label = factorName(name, DEFAULT_TOTP_NAME)
      const user = await confirmPassword(actor.id, password, address)
      if (!user) throw wrongPassword()
      const id = uuidv7()
      const secret = encodeBase32(newTotpSecret())
      const stored = await sealer.seal(id, secret, SEALED_TYPE)
      const done = await withUserLock(
        db,
        user.id,
        async (trx) => {
          await factorRepository(trx).insertTotp({
            id,
            userId: user.id,
            name: label,
            secret: stored,
            now: clock.now(),
          })
          return true
        },
        // Still the password that was checked.
        { passwordChangedAt: user.passwordChangedAt },
      )
      if (!done) throw wrongPassword()
      return { id, secret, otpauthUri: otpauthUri(issuer, user.login, secret) }
    },

    async confirm(actor, id, code, address, language) {
      const factor = isUuid(id) ? await factors.findTotp(actor.id, id.toLowerCase()) : undefined
      if (!factor) throw noSuchFactor()
      const given = parseTotpCode(code)
      if (given === undefined) throw invalidCode()
      if (factor.confirmedAt !== null || factor.createdAt <= deadBefore(clock.now())) {
        throw invalidCode()
      }
      const key = await keyOf(factor)
      let step: number | undefined
      const ok = await throttle.guard(actor.loginKey, address, async () => {
        step = matchStep(key, given, clock.now().getTime())
        return step !== undefined
      })
      if (!ok || step === undefined) throw invalidCode()
      const matched = step
      const confirmed = await withUserLock(db, actor.id, async (trx) => {
        const repository = factorRepository(trx)
        const now = clock.now()
        // Once, and only while alive: of two confirmations with one code, one wins.
        if (!(await repository.confirm(factor.id, deadBefore(now), matched, now))) return undefined
        // NIST SP 800-63B §4.1.2.1: the holder hears of a new authenticator.
        await recordNotice(trx, record, { userId: actor.id, template: 'factor_added', language })
        await recordFactorEvent(trx, options.events, 'factor.added', factor, now)
        return repository.findTotp(actor.id, factor.id)
      })
      if (!confirmed) throw invalidCode()
      return publicFactor(confirmed)
    },

    async verify(user, code, address) {
      const given = parseTotpCode(code)
      if (given === undefined) return false
      // NIST SP 800-63B §3.2.2: wrong codes count against the account like wrong passwords.
      return throttle.guard(user.loginKey, address, async () => {
        const now = clock.now()
        for (const factor of await factors.activeTotps(user.id)) {
          const step = matchStep(await keyOf(factor), given, now.getTime())
          // RFC 6238 §5.2: a step is accepted once (compare-and-set: one of two racing wins).
          if (step !== undefined && (await factors.acceptStep(factor.id, step, now))) return true
        }
        return false
      })
    },

    prunePending: () => factors.deletePendingBefore(deadBefore(clock.now())),
  }
}
