import type { Db } from '../db/schema.ts'
import { isForeign } from '../passwords/foreign/index.ts'
import type { Hasher } from '../passwords/hasher.ts'
import { normalisePassword } from '../passwords/policy.ts'
import type { Throttle } from '../throttle/throttle.ts'
import { loginKey } from '../users/login-name.ts'
import { userRepository, withoutHash } from '../users/repository.ts'
import type { User } from '../users/types.ts'

/** Whose password: an account by its login (logging in) or by id (the caller re-authenticating). */
export type Account = { login: string } | { id: string }

export interface PasswordCheck {
  /**
   * Is `password` the password of `account`? The one place that answers it, for logging in and
   * for every re-authentication (changing the password, deleting the account, what comes).
   *
   * - The account is found by its stored key (the folded login), never by today's login rules.
   * - The attempt counts in the throttle under that key, whichever path asks: one counter per
   *   account. Backing off is 429 rate_limited before any hash; no thread free is 503 overloaded.
   * - An unknown login costs the same verify, against a dummy hash, and is throttled alike.
   * - A hash made with other parameters than today's is replaced, as long as it is unchanged.
   *
   * Returns the account, or undefined when there is none or the password is wrong: callers give
   * one answer for both.
   */
  check(account: Account, password: string, address: string): Promise<User | undefined>
  /** The same check, saying for a failure whether the account exists (for the trail only). */
  attempt(account: Account, password: string, address: string): Promise<Attempt>
}

/** A checked password: the account, or the failure (`userId` when the account exists). */
export type Attempt = { user: User } | { user?: undefined; userId: string | undefined }

export interface PasswordCheckOptions {
  db: Db
  hasher: Hasher
  throttle: Throttle
}

export function createPasswordCheck({ db, hasher, throttle }: PasswordCheckOptions): PasswordCheck {
  const users = userRepository(db)
  const check: PasswordCheck = {
    async check(account, password, address) {
      return (await check.attempt(account, password, address)).user
    },
    async attempt(account, password, address) {
      // Under overload, refuse before any other work: a refusal must stay cheap.
      hasher.admission.assertAdmits()
      const key = 'login' in account ? loginKey(account.login) : undefined
      const found =
        key === undefined
          ? await users.findWithHashById((account as { id: string }).id)
          : await users.findWithHashByKey(key)
      const throttleKey = found?.loginKey ?? key
      if (throttleKey === undefined) return { userId: undefined } // an id that is gone
      const normalised = normalisePassword(password)
      // An imported hash was made by its own system from the password as typed; ours from NFKC.
      const typed = found && isForeign(found.passwordHash) ? password : normalised
      const ok = await throttle.guard(throttleKey, address, () =>
        found
          ? hasher.verify(found.passwordHash, typed)
          : hasher.verifyDummy(normalised).then(() => false),
      )
      if (!found || !ok) return { userId: found?.id }
      // Also how an imported hash becomes argon2id: at the first login, in that request.
      if (hasher.needsRehash(found.passwordHash)) {
        await users.replaceHash(found.id, found.passwordHash, await hasher.hash(normalised))
      }
      return { user: withoutHash(found) }
    },
  }
  return check
}
