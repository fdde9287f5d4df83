// TOTP (RFC 6238) as authenticator apps know it: HMAC-SHA-1, 6 digits, 30 s steps. Pure: no
// store, no clock of its own.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { generateHOTP } from '@oslojs/otp'

export const TOTP_DIGITS = 6
export const TOTP_PERIOD_SECONDS = 30
/** Steps of clock drift accepted either way (RFC 6238 §5.2 recommends at most one). */
export const TOTP_WINDOW = 1
/** 160 bits: the length of an HMAC-SHA-1 output (RFC 4226 §4 R6). */
export const TOTP_SECRET_BYTES = 20

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** A new random secret. */
export function newTotpSecret(): Uint8Array {
  return new Uint8Array(randomBytes(TOTP_SECRET_BYTES))
}

/** RFC 4648 §6 base32, upper case, without padding (what otpauth URIs carry). */
export function encodeBase32(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

/** The bytes of unpadded base32 (either case); undefined for anything else. */
export function decodeBase32(text: string): Uint8Array | undefined {
  const upper = text.toUpperCase()
  // Lengths that no whole number of bytes encodes to (RFC 4648 §6: 1, 3 or 6 trailing symbols).
  if ([1, 3, 6].includes(upper.length % 8)) return undefined
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const char of upper) {
    const index = ALPHABET.indexOf(char)
    if (index < 0) return undefined
    value = ((value << 5) | index) & 0xffff
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return new Uint8Array(out)
}

/**
 * The key URI authenticator apps read from a QR code (Google Authenticator's "Key Uri Format"):
 * `otpauth://totp/<issuer>:<login>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
 */
export function otpauthUri(issuer: string, login: string, secret: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(login)}`
  return (
    `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}` +
    `&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_PERIOD_SECONDS}`
  )
}

/** RFC 6238 §4.2: T = floor((Unix time - T0) / X), with T0 = 0 and X = 30 s. */
export function timeStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS)
}

/** The code as typed, spaces removed, if it is 6 digits; else undefined. */
export function parseTotpCode(input: string): string | undefined {
  const code = input.replaceAll(' ', '')
  return /^[0-9]{6}$/.test(code) ? code : undefined
}

/**
 * The time step within `window` steps of `nowMs` whose code is `code`, or undefined. What is
 * not 6 digits is refused before any HMAC. Each candidate is compared in constant time, and all
 * of them are; of two that match (one in a million), the later one.
 */
export function matchStep(
  key: Uint8Array,
  code: string,
  nowMs: number,
  window = TOTP_WINDOW,
): number | undefined {
  const given = parseTotpCode(code)
  if (given === undefined) return undefined
  const now = timeStep(nowMs)
  const givenBytes = Buffer.from(given)
  let matched: number | undefined
  for (let step = now - window; step <= now + window; step++) {
    if (step < 0) continue
    const expected = Buffer.from(generateHOTP(key, BigInt(step), TOTP_DIGITS))
    if (timingSafeEqual(expected, givenBytes)) matched = step
  }
  return matched
}
