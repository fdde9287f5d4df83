/** The interpreter's own values, and the decoding of strings, bytes and datetime states. */
import type { AllowedGlobal } from './opcodes.ts'

// Internal values that never reach the result as they are.

/** A whitelisted global, only usable as REDUCE's callable. */
export class PyGlobal {
  readonly qualified: AllowedGlobal
  constructor(qualified: AllowedGlobal) {
    this.qualified = qualified
  }
}
export class PyTimedelta {
  readonly ms: number
  constructor(ms: number) {
    this.ms = ms
  }
}
export class PyTimezone {
  readonly offsetMs: number
  constructor(offsetMs: number) {
    this.offsetMs = offsetMs
  }
}
/** A Python 2 str: its bytes, and what the result holds for it. */
export class Py2Str {
  readonly raw: Uint8Array
  readonly value: string | Uint8Array
  constructor(raw: Uint8Array) {
    this.raw = raw
    this.value = decodeUtf8(raw) ?? raw
  }
}
export class PyDict {
  readonly entries = new Map<unknown, unknown>()
  set(key: unknown, value: unknown): void {
    this.entries.set(key instanceof Py2Str ? key.value : key, value)
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

export function isLatin1Name(encoding: unknown): boolean {
  return typeof encoding === 'string' && /^latin[-_]?1$/i.test(encoding)
}

export function latin1(text: string): Uint8Array | undefined {
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c > 0xff) return undefined
    out[i] = c
  }
  return out
}

/** A datetime/date state: bytes, or (as Python 2 and CPython's compatibility path) latin-1 text. */
export function stateBytes(state: unknown): Uint8Array | undefined {
  if (state instanceof Uint8Array) return state
  if (state instanceof Py2Str) return state.raw
  if (typeof state === 'string') return latin1(state)
  return undefined
}

/** Python 3 pickles a str below protocol 1 as raw-unicode-escape: latin-1 bytes and \uXXXX. */
export function rawUnicodeEscape(raw: Uint8Array): string {
  let out = ''
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i] as number
    if (b === 0x5c && (raw[i + 1] === 0x75 || raw[i + 1] === 0x55)) {
      const width = raw[i + 1] === 0x75 ? 4 : 8
      const hex = String.fromCharCode(...raw.subarray(i + 2, i + 2 + width))
      if (hex.length === width && /^[0-9a-fA-F]+$/.test(hex)) {
        const cp = Number.parseInt(hex, 16)
        if (cp <= 0x10ffff) {
          out += String.fromCodePoint(cp)
          i += 1 + width
          continue
        }
      }
    }
    out += String.fromCharCode(b)
  }
  return out
}

function utcDate(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  ms = 0,
): Date | undefined {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day) // setUTCFullYear keeps years 1–99 as they are
  d.setUTCHours(hour, minute, second, ms)
  return d.getUTCDate() === day ? d : undefined
}

/** CPython's datetime state: year (2 bytes, big-endian), month (bit 7 = fold), day, h, m, s, µs (3). */
export function decodeDatetime(b: Uint8Array, offsetMs: number): Date | undefined {
  const at = (i: number): number => b[i] as number
  const micros = (at(7) << 16) | (at(8) << 8) | at(9)
  if (micros > 999_999) return undefined
  const d = utcDate(
    (at(0) << 8) | at(1),
    at(2) & 0x7f,
    at(3),
    at(4),
    at(5),
    at(6),
    Math.trunc(micros / 1000),
  )
  return d === undefined ? undefined : new Date(d.getTime() - offsetMs)
}

export function decodeDate(b: Uint8Array): Date | undefined {
  return utcDate(((b[0] as number) << 8) | (b[1] as number), b[2] as number, b[3] as number)
}
