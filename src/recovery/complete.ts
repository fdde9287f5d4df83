import { replacePassword } from '../authn/credentials.ts'
import type { Clock } from '../clock.ts'
import type { OneTimeCodes } from '../codes/one-time-codes.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { recordNotice } from '../factors/notice.ts'
import type { Language } from '../outbox/mail.ts'
import type { Record } from '../outbox/record.ts'
import type { Hasher } from '../passwords/hasher.ts'
import { normalisePassword, type PasswordPolicy } from '../passwords/policy.ts'
import type { Throttle } from '../throttle/throttle.ts'
import { withUserLock } from '../users/lock.ts'
import { userRepository } from '../users/repository.ts'
import { rejected } from '../users/service.ts'
import { type AccountName, findAccount, throttleKey } from './account.ts'

export interface CompletionOptions {
  db: Db
  clock: Clock
  codes: OneTimeCodes
  record: Record
  events: RecordEvent
  hasher: Hasher
  policy: PasswordPolicy
  throttle: Throttle
}

export interface Completion {
  account: AccountName
  code: string
  newPassword: string
  /** The client's, for the throttle. */
  address: string
  language: Language
}

/** Wrong, expired, spent or unknown code, or no such account: one answer for all. */
const invalidCode = () => new AppError('invalid_code')

/**
 * Setting a new password with a mailed code. The code is checked like a password: each try is
 * counted in the account's failure throttle before it runs (throttle/throttle.ts), so guesses
 * back off and lock like logins do. Then the new password must pass the policy before anything
 * is spent; then, in one transaction under the user's lock, the code is spent (compare-and-set:
 * of two completions with one code, one wins), the password replaced, every session ended, and
 * the holder told (NIST SP 800-63B §4.2.3).
 */
export function createRecoveryCompletion(options: CompletionOptions) {
  const { db, clock, codes, record, events, hasher, policy, throttle } = options
  return {
    async complete({ account, code, newPassword, address, language }: Completion): Promise<void> {
      await throttle.loginAttempt(address)
      hasher.admission.assertAdmits()
      const policyErrors = policy.check(newPassword, 'new_password')
      if (policyErrors.length > 0) throw rejected(policyErrors)

      const found = await findAccount(db, account)
      const proven = await throttle.guard(throttleKey(account, found), address, async () => {
        if (!found) return false
        // Under the lock, so concurrent guesses are counted one at a time (5 tries, not more).
        const check = await withUserLock(db, found.id, (trx) =>
          codes.verify(trx, { userId: found.id, purpose: 'recovery', code, now: clock.now() }),
        )
        return check?.ok === true && check.sentTo === found.email
      })
      if (!found || !proven) throw invalidCode()
      // Only now may the login be named: the code has shown the caller holds the account.
      const loginErrors = policy.check(newPassword, 'new_password', found.loginKey)
      if (loginErrors.length > 0) throw rejected(loginErrors)

      const passwordHash = await hasher.hash(normalisePassword(newPassword))
      const done = await withUserLock(db, found.id, async (trx) => {
        const now = clock.now()
        const user = await userRepository(trx).findById(found.id)
        if (!user) return false
        const spent = await codes.spend(trx, { userId: user.id, purpose: 'recovery', code, now })
        if (!spent.ok || spent.sentTo !== user.email) return false
        await replacePassword(trx, user, passwordHash, clock, { method: 'recovery_email', events })
        await recordNotice(trx, record, { userId: user.id, template: 'password_changed', language })
        return true
      })
      if (!done) throw invalidCode()
    },
  }
}

export type RecoveryCompletion = ReturnType<typeof createRecoveryCompletion>
