import { replacePassword } from '../authn/credentials.ts'
import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { recordNotice } from '../factors/notice.ts'
import type { RecoveryCodeCheck } from '../factors/recovery-code-check.ts'
import type { Language } from '../outbox/mail.ts'
import type { Record as RecordFn } from '../outbox/record.ts'
import type { Hasher } from '../passwords/hasher.ts'
import { normalisePassword, type PasswordPolicy } from '../passwords/policy.ts'
import type { Throttle } from '../throttle/throttle.ts'
import { withUserLock } from '../users/lock.ts'
import { loginKey } from '../users/login-name.ts'
import { userRepository } from '../users/repository.ts'
import { rejected } from '../users/service.ts'

export interface SavedCodeRecoveryOptions {
  db: Db
  clock: Clock
  hasher: Hasher
  policy: PasswordPolicy
  throttle: Throttle
  codes: RecoveryCodeCheck
  record: RecordFn
  events: RecordEvent
}

export interface SavedCodeRecoveryRequest {
  login: string
  code: string
  newPassword: string
  address: string
  language: Language
}

// One answer for an unknown login, a wrong code and a spent one.
const invalidCode = () =>
  new AppError('invalid_code', {
    detail: 'The login or the recovery code is wrong, or the code was used already.',
  })

/** A new password for someone who lost theirs, against one of their saved recovery codes. */
export function createSavedCodeRecovery(options: SavedCodeRecoveryOptions) {
  const { db, clock, hasher, policy, throttle, codes, record, events } = options
  return {
    /** Spends the code, sets the password and ends every session, in one transaction. */
    async recover(request: SavedCodeRecoveryRequest): Promise<void> {
      const { login, code, newPassword, address, language } = request
      await throttle.loginAttempt(address)
      // The policy first: a password that cannot be set spends nothing and costs no hash. The
      // login's key is the stored one for any account that exists (authn/password.ts).
      const errors = policy.check(newPassword, 'new_password', loginKey(login))
      if (errors.length > 0) throw rejected(errors)
      const match = await codes.check({ login }, code, address)
      if (!match) throw invalidCode()
      const passwordHash = await hasher.hash(normalisePassword(newPassword))
      const done = await withUserLock(db, match.userId, async (trx) => {
        const user = await userRepository(trx).findById(match.userId)
        if (!user || !(await codes.spend(trx, match, clock.now()))) return false
        await replacePassword(trx, user, passwordHash, clock, { method: 'recovery_code', events })
        // Not from the holder's own session: tell the holder (NIST SP 800-63B §4.2.3).
        await recordNotice(trx, record, { userId: user.id, template: 'password_changed', language })
        return true
      })
      // Spent by a concurrent request, or replaced by a new set, after it was checked.
      if (!done) throw invalidCode()
    },
  }
}

export type SavedCodeRecovery = ReturnType<typeof createSavedCodeRecovery>
