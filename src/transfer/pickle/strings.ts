/** Opcodes that push a str, a Python 2 str or bytes. */
import type { Machine } from './machine.ts'
import { decodeUtf8, Py2Str, rawUnicodeEscape } from './values.ts'

/** str, Python 2 str and bytes; false for any other opcode. */
export function stringOp(m: Machine, op: string): boolean {
  switch (op) {
    case 'STRING':
      m.push(new Py2Str(quotedString(m, m.lineBytes())))
      return true
    case 'BINSTRING': {
      const n = m.i32()
      if (n < 0) throw m.malformed('BINSTRING with a negative length')
      m.push(new Py2Str(m.take(n).slice()))
      return true
    }
    case 'SHORT_BINSTRING':
      m.push(new Py2Str(m.take(m.u8()).slice()))
      return true
    case 'UNICODE':
      m.push(rawUnicodeEscape(m.lineBytes()))
      return true
    case 'BINUNICODE':
      m.push(text(m, m.u32()))
      return true
    case 'SHORT_BINUNICODE':
      m.push(text(m, m.u8()))
      return true
    case 'BINUNICODE8':
      m.push(text(m, m.u64()))
      return true
    case 'BINBYTES':
      m.push(m.take(m.u32()).slice())
      return true
    case 'SHORT_BINBYTES':
      m.push(m.take(m.u8()).slice())
      return true
    case 'BINBYTES8':
    case 'BYTEARRAY8':
      m.push(m.take(m.u64()).slice())
      return true
    default:
      return false
  }
}

function text(m: Machine, n: number): string {
  const s = decodeUtf8(m.take(n))
  if (s === undefined) throw m.malformed('a str is not valid UTF-8')
  return s
}

/** Protocol 0's STRING: a Python 2 repr, quoted, with backslash escapes. */
function quotedString(m: Machine, line: Uint8Array): Uint8Array {
  const q = line[0]
  if (line.length < 2 || (q !== 0x27 && q !== 0x22) || line[line.length - 1] !== q) {
    throw m.malformed('STRING argument is not quoted')
  }
  const body = line.subarray(1, line.length - 1)
  const out: number[] = []
  for (let i = 0; i < body.length; i++) {
    const b = body[i] as number
    if (b !== 0x5c) {
      out.push(b)
      continue
    }
    const e = body[++i]
    if (e === undefined) throw m.malformed('STRING ends in a backslash')
    const simple: Record<number, number> = {
      92: 0x5c,
      39: 0x27,
      34: 0x22,
      110: 0x0a,
      116: 0x09,
      114: 0x0d,
      97: 0x07,
      98: 0x08,
      102: 0x0c,
      118: 0x0b,
    }
    const s = simple[e]
    if (s !== undefined) {
      out.push(s)
    } else if (e === 0x78) {
      const hex = String.fromCharCode(body[i + 1] ?? 0, body[i + 2] ?? 0)
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw m.malformed('STRING has a bad \\x escape')
      out.push(Number.parseInt(hex, 16))
      i += 2
    } else if (e >= 0x30 && e <= 0x37) {
      let v = e - 0x30
      for (let k = 0; k < 2 && (body[i + 1] ?? 0) >= 0x30 && (body[i + 1] ?? 0) <= 0x37; k++) {
        v = v * 8 + ((body[++i] as number) - 0x30)
      }
      out.push(v & 0xff)
    } else {
      out.push(0x5c, e) // Python keeps an unknown escape as it is
    }
  }
  return Uint8Array.from(out)
}
