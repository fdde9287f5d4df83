const HEX = /^(?:[0-9a-fA-F]{2})*$/
const B64 = /^[A-Za-z0-9+/]*$/

export function fromHex(text: string): Buffer | undefined {
  return HEX.test(text) ? Buffer.from(text, 'hex') : undefined
}

/**
 * Standard base64, padded or not. Buffer.from skips what it cannot read, so the text must also
 * be what re-encoding the bytes gives back (no stray characters or trailing bits).
 */
export function fromBase64(text: string): Buffer | undefined {
  const bare = text.replace(/={1,2}$/, '')
  if (!B64.test(bare) || bare.length % 4 === 1) return undefined
  if (bare !== text && text.length % 4 !== 0) return undefined
  const bytes = Buffer.from(bare, 'base64')
  return bytes.toString('base64').replace(/=+$/, '') === bare ? bytes : undefined
}

/** passlib's "adapted base64": '.' for '+', no padding (passlib/utils/binary.py ab64_decode). */
export function fromAb64(text: string): Buffer | undefined {
  return text.includes('=') ? undefined : fromBase64(text.replaceAll('.', '+'))
}

/** A decimal cost parameter; NaN when it is not digits (the caller says malformed). */
export function decimal(text: string | undefined): number {
  return text !== undefined && /^\d{1,20}$/.test(text) ? Number(text) : Number.NaN
}
