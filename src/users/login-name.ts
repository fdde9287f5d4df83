import type { FieldError } from '../errors.ts'
import { codePoints, fold, nfkc } from '../text.ts'

// The rules for login *names*, applied when an account is created. Logging in looks a login up
// by its key alone (authn/password.ts), so tightening these rules never locks anyone out.

export const LOGIN_MIN_LENGTH = 3
export const LOGIN_MAX_LENGTH = 64

// Letters, marks and digits of any script plus . _ - @ +, starting with a letter or digit.
const LOGIN_PATTERN = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}._\-@+]*$/u

export type LoginCheck = { ok: true; key: string } | { ok: false; errors: FieldError[] }

/**
 * The key a login is stored and found under: NFKC case-folded, so `Ivan`, `ivan` and `Ｉｖａｎ`
 * are one login (the UNIQUE index is on it).
 */
export function loginKey(login: string): string {
  return fold(login)
}

/** Validates a login as given (white space is refused, not trimmed) and derives its key. */
export function checkLogin(login: string, field = 'login'): LoginCheck {
  const errors: FieldError[] = []
  const normalised = nfkc(login)
  const length = codePoints(normalised)
  if (length < LOGIN_MIN_LENGTH || length > LOGIN_MAX_LENGTH) {
    const short = length < LOGIN_MIN_LENGTH
    errors.push({
      field,
      code: short ? 'too_short' : 'too_long',
      message: `must be ${LOGIN_MIN_LENGTH} to ${LOGIN_MAX_LENGTH} characters long`,
      limit: short ? LOGIN_MIN_LENGTH : LOGIN_MAX_LENGTH,
    })
  }
  if (!LOGIN_PATTERN.test(normalised)) {
    errors.push({
      field,
      code: 'invalid_format',
      message:
        'may contain only letters, digits and . _ - @ +, and must start with a letter or digit',
    })
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, key: loginKey(login) }
}
