import type { Db } from '../db/schema.ts'
import type { Hasher } from '../passwords/hasher.ts'
import type { Throttle } from '../throttle/throttle.ts'
import { loginKey } from '../users/login-name.ts'
import { userRepository } from '../users/repository.ts'
import { parseRecoveryCode } from './recovery-code-format.ts'
import type { RecoveryCodeStore } from './recovery-codes.ts'

/** Whose code: an account by its login (recovery) or by id (a second factor, once signed in). */
export type CodeHolder = { login: string } | { id: string }

/** A checked code, not yet spent. */
export interface RecoveryCodeMatch {
  userId: string
  codeId: string
}

export interface RecoveryCodeCheck {
  /**
   * Is `code` an unspent saved recovery code of `holder`? Like the password check
   * (authn/password.ts), whose throttle it shares:
   *
   * - The attempt counts under the account's login key, from `address`: a wrong code is a
   *   failed login of the account. Backing off is 429 before any hash; no thread, 503.
   * - An unknown login, selector or code costs the same one verify.
   * - What cannot be a code at all is refused before any lookup or hash, and counts nowhere.
   *
   * Returns the match to spend, or undefined: callers give one answer for every failure.
   */
  check(holder: CodeHolder, code: string, address: string): Promise<RecoveryCodeMatch | undefined>
  /** In the caller's transaction: false when it was spent or replaced meanwhile. */
  spend(trx: Db, match: RecoveryCodeMatch, now: Date): Promise<boolean>
}

export interface RecoveryCodeCheckOptions {
  db: Db
  hasher: Hasher
  throttle: Throttle
  store: RecoveryCodeStore
}

export function createRecoveryCodeCheck(options: RecoveryCodeCheckOptions): RecoveryCodeCheck {
  const { db, hasher, throttle, store } = options
  const users = userRepository(db)

  return {
    async check(holder, input, address) {
      // Under overload, refuse before any other work.
      hasher.admission.assertAdmits()
      const code = parseRecoveryCode(input)
      if (!code) return undefined
      const key = 'login' in holder ? loginKey(holder.login) : undefined
      const found =
        key === undefined
          ? await users.findById((holder as { id: string }).id)
          : await users.findByKey(key)
      const throttleKey = found?.loginKey ?? key
      if (throttleKey === undefined) return undefined // an id that is gone
      let codeId: string | undefined
      await throttle.guard(throttleKey, address, async () => {
        codeId = await store.verify(db, found?.id, code)
        return codeId !== undefined
      })
      return found && codeId ? { userId: found.id, codeId } : undefined
    },

    spend: (trx, match, now) => store.spend(trx, match.codeId, now),
  }
}
