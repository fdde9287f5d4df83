/** Opcodes that push None, a bool, an int or a float. */
import type { Machine } from './machine.ts'
import { PickleRefused } from './refused.ts'

/** Longest int as LONG1/LONG4 (bytes) or INT/LONG (digits): well past any real value. */
const MAX_INT_BYTES = 256
const MAX_INT_DIGITS = 640

/** None, bools, ints and floats; false for any other opcode. */
export function numberOp(m: Machine, op: string): boolean {
  switch (op) {
    case 'NONE':
      m.push(null)
      return true
    case 'NEWTRUE':
      m.push(true)
      return true
    case 'NEWFALSE':
      m.push(false)
      return true
    case 'INT': {
      const line = m.asciiLine()
      if (line === '01') m.push(true)
      else if (line === '00') m.push(false)
      else m.push(decimal(m, line))
      return true
    }
    case 'LONG':
      m.push(decimal(m, m.asciiLine().replace(/L$/, '')))
      return true
    case 'BININT':
      m.push(m.i32())
      return true
    case 'BININT1':
      m.push(m.u8())
      return true
    case 'BININT2':
      m.push(m.u16())
      return true
    case 'LONG1':
      m.push(twosComplement(m, m.u8()))
      return true
    case 'LONG4': {
      const n = m.i32()
      if (n < 0) throw m.malformed('LONG4 with a negative length')
      m.push(twosComplement(m, n))
      return true
    }
    case 'FLOAT':
      m.push(floatText(m, m.asciiLine()))
      return true
    case 'BINFLOAT': {
      m.need(8)
      m.push(m.view.getFloat64(m.pos, false))
      m.pos += 8
      return true
    }
    default:
      return false
  }
}

function decimal(m: Machine, text: string): number | bigint {
  if (text.length > MAX_INT_DIGITS) {
    throw new PickleRefused('limit', 'pickle refused: an int is too long', m.at)
  }
  if (!/^[+-]?\d+$/.test(text)) throw m.malformed('an int is not a decimal number')
  return narrow(BigInt(text))
}

/** LONG1/LONG4: n bytes of little-endian two's complement. */
function twosComplement(m: Machine, n: number): number | bigint {
  if (n > MAX_INT_BYTES)
    throw new PickleRefused('limit', 'pickle refused: an int is too long', m.at)
  const bytes = m.take(n)
  if (n === 0) return 0
  let v = 0n
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number)
  if ((bytes[n - 1] as number) & 0x80) v -= 1n << BigInt(8 * n)
  return narrow(v)
}

function floatText(m: Machine, text: string): number {
  const t = text.trim().toLowerCase()
  if (t === 'inf' || t === '+inf') return Number.POSITIVE_INFINITY
  if (t === '-inf') return Number.NEGATIVE_INFINITY
  if (t === 'nan' || t === '-nan' || t === '+nan') return Number.NaN
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) throw m.malformed('a float is not a number')
  return Number(t)
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v
}
