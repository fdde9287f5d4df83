/** GLOBAL, STACK_GLOBAL and REDUCE: only the whitelisted globals, decoded here, never called. */
import type { Machine } from './machine.ts'
import { ALLOWED_GLOBALS } from './opcodes.ts'
import type { PickleRefused } from './refused.ts'
import {
  decodeDate,
  decodeDatetime,
  isLatin1Name,
  latin1,
  Py2Str,
  PyGlobal,
  PyTimedelta,
  PyTimezone,
  stateBytes,
} from './values.ts'

/** Globals and REDUCE; false for any other opcode. */
export function globalOp(m: Machine, op: string): boolean {
  switch (op) {
    case 'GLOBAL': {
      const module = m.asciiLine()
      const name = m.asciiLine()
      m.push(allowedGlobal(m, module, name))
      return true
    }
    case 'STACK_GLOBAL': {
      const name = m.pop()
      const module = m.pop()
      if (typeof module !== 'string' || typeof name !== 'string') {
        throw m.forbidden('STACK_GLOBAL whose module and name are not strings')
      }
      m.push(allowedGlobal(m, module, name))
      return true
    }
    case 'REDUCE': {
      const args = m.pop()
      const callable = m.pop()
      m.push(reduce(m, callable, args))
      return true
    }
    default:
      return false
  }
}

/** A name from the pickle, fit for an error message: printable, at most 80 characters. */
function quoteName(name: string): string {
  const shown = name.length > 80 ? `${name.slice(0, 80)}…` : name
  return JSON.stringify(shown)
}

function allowedGlobal(m: Machine, module: string, name: string): PyGlobal {
  const qualified = `${module}.${name}`
  const allowed = Object.hasOwn(ALLOWED_GLOBALS, qualified)
    ? ALLOWED_GLOBALS[qualified as keyof typeof ALLOWED_GLOBALS]
    : undefined
  if (allowed === undefined) {
    throw m.forbidden(
      `global ${quoteName(qualified)} is not allowed (only datetime values and byte strings)`,
    )
  }
  return new PyGlobal(allowed)
}

/** REDUCE, for the whitelisted globals and the argument shapes Python's pickler writes. */
function reduce(m: Machine, callable: unknown, args: unknown): unknown {
  if (!(callable instanceof PyGlobal)) {
    throw m.forbidden('REDUCE on something that is not an allowed global')
  }
  if (!Array.isArray(args)) throw m.malformed('REDUCE arguments are not a tuple')
  const bad = (): PickleRefused =>
    m.forbidden(`REDUCE of ${callable.qualified} with arguments Python does not write`)
  switch (callable.qualified) {
    case 'encode': {
      // _codecs.encode(text, 'latin1'): bytes below protocol 3
      const [text, encoding] = args
      if (args.length !== 2 || typeof text !== 'string' || !isLatin1Name(encoding)) throw bad()
      const out = latin1(text)
      if (out === undefined) throw bad()
      return out
    }
    case 'bytes': {
      // bytes() / bytearray() / bytearray(b'…') / bytearray('…', 'latin-1')
      if (args.length === 0) return new Uint8Array(0)
      const [first, encoding] = args
      if (args.length === 1 && first instanceof Uint8Array) return first.slice()
      if (args.length === 1 && first instanceof Py2Str) return first.raw.slice()
      if (args.length === 2 && typeof first === 'string' && isLatin1Name(encoding)) {
        const out = latin1(first)
        if (out !== undefined) return out
      }
      throw bad()
    }
    case 'timedelta': {
      const [days, seconds, micros] = args
      if (
        args.length !== 3 ||
        typeof days !== 'number' ||
        typeof seconds !== 'number' ||
        typeof micros !== 'number'
      ) {
        throw bad()
      }
      return new PyTimedelta(days * 86_400_000 + seconds * 1000 + Math.trunc(micros / 1000))
    }
    case 'timezone': {
      const [offset, tzname] = args
      if (
        args.length < 1 ||
        args.length > 2 ||
        !(offset instanceof PyTimedelta) ||
        (args.length === 2 && typeof tzname !== 'string' && !(tzname instanceof Py2Str)) ||
        Math.abs(offset.ms) >= 86_400_000
      ) {
        throw bad()
      }
      return new PyTimezone(offset.ms)
    }
    case 'datetime': {
      const [state, tz] = args
      const raw = stateBytes(state)
      if (args.length < 1 || args.length > 2 || raw?.length !== 10) throw bad()
      if (args.length === 2 && tz !== null && !(tz instanceof PyTimezone)) {
        throw m.forbidden('a datetime’s tzinfo is not a datetime.timezone')
      }
      const date = decodeDatetime(raw, tz instanceof PyTimezone ? tz.offsetMs : 0)
      if (date === undefined) throw m.malformed('a datetime is out of range')
      return date
    }
    case 'date': {
      const raw = stateBytes(args[0])
      if (args.length !== 1 || raw?.length !== 4) throw bad()
      const date = decodeDate(raw)
      if (date === undefined) throw m.malformed('a date is out of range')
      return date
    }
  }
}
