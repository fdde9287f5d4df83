import { randomInt } from 'node:crypto'

// How a saved recovery code is written. 20 Crockford base32 characters in five groups of four,
// `7KQ2-M4XD-9RVA-0TNE-HB3W`: the first group is a selector (20 bits, not secret: it finds the
// code's row, so that one guess costs one hash), the other four the secret (80 random bits,
// NIST SP 800-63B §3.1.2.1 asks for at least 64).

/** Crockford's base32: no I, L, O, U (read as 1, 1, 0; U is refused). */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const SELECTOR_LENGTH = 4
const SECRET_LENGTH = 16
const LENGTH = SELECTOR_LENGTH + SECRET_LENGTH

/** Random secret bits in one code. */
export const SECRET_BITS = SECRET_LENGTH * 5

/** A code as the store works with it: upper case, no separators. */
export interface RecoveryCode {
  selector: string
  /** All 20 characters, selector included: what is hashed. */
  canonical: string
}

/** A new random code, and how it is shown to its holder. */
export function newRecoveryCode(): RecoveryCode & { display: string } {
  let canonical = ''
  for (let i = 0; i < LENGTH; i++) canonical += ALPHABET[randomInt(ALPHABET.length)]
  return {
    selector: canonical.slice(0, SELECTOR_LENGTH),
    canonical,
    display: canonical.match(/.{4}/g)?.join('-') ?? canonical,
  }
}

// Spaces, dashes and their look-alikes, as people type or paste them.
const SEPARATORS = /[\s\-\u2010-\u2015\u2212]/gu
const CANONICAL = new RegExp(`^[${ALPHABET}]{${LENGTH}}$`)

/**
 * A code as typed: any case, with or without dashes and spaces, full-width forms (NFKC), and
 * Crockford's confusables (I and L are 1, O is 0). Undefined when it cannot be a code at all.
 */
export function parseRecoveryCode(input: string): RecoveryCode | undefined {
  const canonical = input
    .normalize('NFKC')
    .replace(SEPARATORS, '')
    .toUpperCase()
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0')
  if (!CANONICAL.test(canonical)) return undefined
  return { selector: canonical.slice(0, SELECTOR_LENGTH), canonical }
}
