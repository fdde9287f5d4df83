import { domainToASCII } from 'node:url'
import type { FieldError } from '../errors.ts'
import { codePoints, fold } from '../text.ts'

// The rules for email addresses, and the key they are stored and found under: one place for
// registration, a change of address and recovery by address.

/** RFC 5321 §4.5.3.1.3: a path holds at most 256 octets, the address 254 of them. */
export const EMAIL_MAX_LENGTH = 254
/** RFC 5321 §4.5.3.1.1. */
const LOCAL_MAX_LENGTH = 64

// A dot-atom (RFC 5322 §3.2.3) of any script (RFC 6531): no quotes, spaces, commas or angle
// brackets, so an address can never carry a second recipient or a header into a mail.
const ATOM = "[\\p{L}\\p{M}\\p{N}!#$%&'*+\\-/=?^_`{|}~]+"
const LOCAL_PART = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`, 'u')
// After IDNA: letters, digits and hyphens, at least two labels, the last one not all digits
// (no IP addresses), at most 253 characters.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?'
const DOMAIN = new RegExp(`^(?=.{1,253}$)(?:${LABEL}\\.)+(?!\\d+$)${LABEL}$`)

export type EmailCheck =
  | { ok: true; address: string; key: string }
  | { ok: false; errors: FieldError[] }

/**
 * The key an address is unique and found under: the whole address NFKC case-folded, so
 * `Alice@Example.com` and `alice@example.com` are one address. `address` is as emailAddress
 * gives it (the domain already IDNA-encoded).
 */
export function emailKey(address: string): string {
  return fold(address)
}

/**
 * Validates an address as given (white space is refused, not trimmed) and returns it as stored:
 * the local part as typed, the domain IDNA-encoded (url.domainToASCII) and lower-cased; and its key.
 */
export function checkEmail(given: string, field = 'email'): EmailCheck {
  const invalid = (): EmailCheck => ({
    ok: false,
    errors: [
      { field, code: 'invalid_format', message: 'must be an email address like name@example.com' },
    ],
  })
  const parts = given.split('@')
  if (parts.length !== 2) return invalid()
  const [local = '', domain = ''] = parts
  // domainToASCII decodes percent-escapes ("a%41.com" → "aa.com"): not what was typed.
  if (domain.includes('%')) return invalid()
  const ascii = domainToASCII(domain).toLowerCase()
  if (local.length > LOCAL_MAX_LENGTH || !LOCAL_PART.test(local) || !DOMAIN.test(ascii)) {
    return invalid()
  }
  const address = `${local}@${ascii}`
  if (codePoints(address) > EMAIL_MAX_LENGTH) {
    return {
      ok: false,
      errors: [
        {
          field,
          code: 'too_long',
          message: `must be at most ${EMAIL_MAX_LENGTH} characters long`,
          limit: EMAIL_MAX_LENGTH,
        },
      ],
    }
  }
  return { ok: true, address, key: emailKey(address) }
}

/**
 * Where mail about the account may go: its address once a code sent to it came back; else
 * nowhere (an unverified address may be anyone's). NIST SP 800-63B §4.2.1.2: an address of record.
 */
export function verifiedAddress(user: {
  email: string | null
  emailVerifiedAt: Date | null
}): string | undefined {
  return user.email !== null && user.emailVerifiedAt !== null ? user.email : undefined
}
