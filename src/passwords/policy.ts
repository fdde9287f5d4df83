import { dictionary } from '@zxcvbn-ts/language-common'
import type { FieldCode, FieldError } from '../errors.ts'
import { codePoints, fold, nfkc } from '../text.ts'

export const PASSWORD_MAX_LENGTH = 256

// ~49k common passwords, all lower case: compared case-insensitively.
const blocklist = new Set(dictionary['passwords-common'])

/** The same NFKC at registration and at login, so é composed or decomposed is one password. */
export function normalisePassword(password: string): string {
  return nfkc(password)
}

export interface PasswordPolicy {
  readonly minLength: number
  readonly maxLength: number
  /**
   * NIST SP 800-63B rev 4: length in code points after NFKC, no composition rules, a
   * blocklist, and not containing the login. Returns every failed rule (empty when fine).
   * `loginKey` is the folded login (see users/login-name.ts) or undefined when there is none.
   */
  check(password: string, field: string, loginKey?: string): FieldError[]
}

const CONTROL = /\p{Cc}/u

export function createPasswordPolicy(minLength: number): PasswordPolicy {
  const maxLength = PASSWORD_MAX_LENGTH
  return {
    minLength,
    maxLength,
    check(password, field, loginKey) {
      const errors: FieldError[] = []
      const fail = (code: FieldCode, message: string, limit?: number) =>
        errors.push({ field, code, message, ...(limit === undefined ? {} : { limit }) })
      if (!password.isWellFormed() || CONTROL.test(password)) {
        fail('invalid_characters', 'must not contain control characters or unpaired surrogates')
      }
      const normalised = normalisePassword(password)
      const length = codePoints(normalised)
      if (length < minLength) {
        fail('too_short', `must be at least ${minLength} characters long`, minLength)
      }
      if (length > maxLength) {
        fail('too_long', `must be at most ${maxLength} characters long`, maxLength)
      }
      if (blocklist.has(normalised.toLowerCase())) {
        fail('common_password', 'is a commonly used password')
      }
      if (loginKey && fold(normalised).includes(loginKey)) {
        fail('contains_login', 'must not contain the login')
      }
      return errors
    },
  }
}
