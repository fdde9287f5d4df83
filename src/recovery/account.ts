import type { Db } from '../db/schema.ts'
import { AppError, invalidField } from '../errors.ts'
import { checkEmail } from '../users/email-address.ts'
import { loginKey } from '../users/login-name.ts'
import { userRepository } from '../users/repository.ts'
import type { User } from '../users/types.ts'

/** An account as a recovery names it: by the key of its login or of its address. */
export type AccountName = { by: 'login'; key: string } | { by: 'email'; key: string }

/** The login or the address of a request body, exactly one; 422 otherwise or for a bad address. */
export function accountName(body: { login?: string; email?: string }): AccountName {
  const { login, email } = body
  if (login === undefined && email === undefined) {
    throw invalidField('login', 'required', 'is required (or email)')
  }
  if (login !== undefined && email !== undefined) {
    throw invalidField('email', 'invalid_value', 'must not be given together with login')
  }
  if (login !== undefined) return { by: 'login', key: loginKey(login) }
  const checked = checkEmail(email as string)
  if (!checked.ok) throw new AppError('validation_failed', { errors: checked.errors })
  return { by: 'email', key: checked.key }
}

/**
 * The key failures are counted under in the throttle: the account's login key, as for logins;
 * for an address no account has, the address itself (no login holds a colon).
 */
export function throttleKey(name: AccountName, found: User | undefined): string {
  return found?.loginKey ?? (name.by === 'login' ? name.key : `email:${name.key}`)
}

/** The account so named, if there is one. */
export async function findAccount(db: Db, name: AccountName): Promise<User | undefined> {
  const users = userRepository(db)
  return name.by === 'login' ? users.findByKey(name.key) : users.findByEmailKey(name.key)
}
