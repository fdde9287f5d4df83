// TOTP codes as an authenticator app computes them (RFC 6238, HMAC-SHA-1, 6 digits, 30 s),
// written here from node:crypto alone so that tests do not check the service against itself.
import { createHmac } from 'node:crypto'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

function base32Bytes(secret: string): Buffer {
  let bits = ''
  for (const char of secret.replace(/=+$/, '').toUpperCase()) {
    const index = ALPHABET.indexOf(char)
    if (index < 0) throw new Error(`not base32: ${char}`)
    bits += index.toString(2).padStart(5, '0')
  }
  const bytes = bits.match(/.{8}/g) ?? []
  return Buffer.from(bytes.map((byte) => Number.parseInt(byte, 2)))
}

/** The HOTP value (RFC 4226 §5.3) of `key` at `counter`, with `digits` digits. */
export function hotp(key: Buffer, counter: number, digits = 6): string {
  const message = Buffer.alloc(8)
  message.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac('sha1', key).update(message).digest()
  const offset = (mac[mac.length - 1] as number) & 0x0f
  const number = mac.readUInt32BE(offset) & 0x7fffffff
  return String(number % 10 ** digits).padStart(digits, '0')
}

/** The 6-digit code of the base32 `secret` at `atMs`, `offsetSteps` steps of 30 s away. */
export function totpCode(secretBase32: string, atMs = Date.now(), offsetSteps = 0): string {
  const step = Math.floor(atMs / 1000 / 30) + offsetSteps
  return hotp(base32Bytes(secretBase32), step)
}
