import type { Clock } from '../clock.ts'
import type { OneTimeCodes } from '../codes/one-time-codes.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { type Language, MAIL_CHANNEL } from '../outbox/mail.ts'
import type { Record } from '../outbox/record.ts'
import { withUserLock } from './lock.ts'
import { userRepository } from './repository.ts'
import type { User } from './types.ts'

/** What proving an address takes: codes, the outbox, and the configured lifetime. */
export interface EmailOptions {
  codes: OneTimeCodes
  record: Record
  events: RecordEvent
  codeTtlSeconds: number
  /** EMAIL_REQUIRED=on: registration needs an address. */
  required: boolean
}

/** At least 6 random digits, as the issue asks: a code that proves an address, not an account. */
export const EMAIL_CODE_DIGITS = 6
/**
 * Verification codes mailed per user per hour, however they were asked for (registration, a
 * change, a resend): at least 4 resends after registering. With 5 tries each, a guesser gets
 * 25 tries an hour at one in a million each.
 */
export const EMAIL_CODES_PER_HOUR = 5
const HOUR_MS = 3600_000

/**
 * Inside the transaction that set `address`: a new code for it (the older one dies) and the mail
 * that carries it, recorded in the outbox, so both exist exactly when the change does.
 */
export async function mailVerificationCode(
  trx: Db,
  options: EmailOptions,
  user: Pick<User, 'id' | 'login'>,
  address: string,
  language: Language,
  now: Date,
): Promise<void> {
  const { code } = await options.codes.issue(trx, {
    userId: user.id,
    purpose: 'verify_email',
    digits: EMAIL_CODE_DIGITS,
    ttlSeconds: options.codeTtlSeconds,
    now,
    sentTo: address,
  })
  await options.record(trx, MAIL_CHANNEL, {
    template: 'email_verification',
    to: address,
    language,
    login: user.login,
    code,
  })
}

const noAddress = () =>
  new AppError('not_found', { detail: 'The account has no email address to verify.' })

/** The caller proves their address with the code mailed to it, or asks for another. */
export function createEmailVerification(db: Db, clock: Clock, options: EmailOptions) {
  const { codes } = options
  return {
    /** 400 invalid_code for a wrong, expired, spent or unknown code, or one sent elsewhere. */
    async verify(actor: User, code: string): Promise<User> {
      const now = clock.now()
      // Under the lock: guesses are counted one at a time, and the address cannot change meanwhile.
      const verified = await withUserLock(db, actor.id, async (trx) => {
        const users = userRepository(trx)
        const user = await users.findById(actor.id)
        const check = await codes.spend(trx, {
          userId: actor.id,
          purpose: 'verify_email',
          code,
          now,
        })
        // A code proves the address it went to, and no other.
        if (!user?.email || !check.ok || check.sentTo !== user.email) return undefined
        await users.markEmailVerified(user.id, user.email, now)
        const data = { email: user.email }
        await options.events(trx, { type: 'user.email_verified', userId: user.id, at: now, data })
        return users.findById(user.id)
      })
      // Returned, not thrown, inside: a wrong try must be committed to count.
      if (!verified) throw new AppError('invalid_code')
      return verified
    },

    /** A new code for the caller's address; 429 beyond EMAIL_CODES_PER_HOUR. */
    async resend(actor: User, language: Language): Promise<void> {
      const now = clock.now()
      const since = new Date(now.getTime() - HOUR_MS)
      const refusal = await withUserLock(db, actor.id, async (trx) => {
        const user = await userRepository(trx).findById(actor.id)
        if (!user?.email) return noAddress()
        const sent = await codes.issuedTimes(trx, user.id, 'verify_email', since)
        const freedBy = sent[sent.length - EMAIL_CODES_PER_HOUR]
        if (freedBy) {
          const seconds = Math.ceil((freedBy.getTime() + HOUR_MS - now.getTime()) / 1000)
          return new AppError('rate_limited', {
            detail: `At most ${EMAIL_CODES_PER_HOUR} codes an hour; wait and ask again.`,
            headers: { 'retry-after': String(Math.max(1, seconds)) },
          })
        }
        await mailVerificationCode(trx, options, user, user.email, language, now)
        return undefined
      })
      if (refusal) throw refusal
    },
  }
}

export type EmailVerification = ReturnType<typeof createEmailVerification>
