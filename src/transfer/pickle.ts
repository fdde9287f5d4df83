/**
 * A restricted, data-only reader of Python pickles (protocols 0–5), for `usersvc import
 * --from-pickle`. It is a whitelist opcode interpreter written here, not the `pickleparser`
 * package, which was evaluated and dropped:
 *  - an unknown GLOBAL becomes a stand-in constructor (its default resolver, and NameRegistry's
 *    onMissingName), and REDUCE / NEWOBJ / OBJ / INST call or `Reflect.construct` whatever sits
 *    on the stack; BUILD calls a `__setstate__` it finds on the object or `Object.assign`s the
 *    state into it. A resolver that throws refuses globals, but no option refuses BUILD, sets,
 *    out-of-band buffers or NEWOBJ on a whitelisted name, so "only data" cannot be configured;
 *  - DICT writes `dict[key] = value`, so a `__proto__` key replaces an object's prototype;
 *  - LONG1 reads two's-complement ints as unsigned (-1 comes back as 255), LONG1 over 8 bytes
 *    throws, protocol 0's UNICODE (raw-unicode-escape) is not unescaped, and nothing caps the
 *    stack or memo.
 *
 * What is built: dict → plain object whose own properties are the keys (defined with
 * defineProperty, so a `__proto__` key is an ordinary property), or a Map when any key is not a
 * string (a Python dict keyed by ints, bytes, tuples …; callers that only expect string keys get
 * a clear type to refuse); list and tuple → array; str → string; bytes and bytearray →
 * Uint8Array; int → number, or bigint beyond Number.MAX_SAFE_INTEGER; float → number; bool;
 * None → null; `datetime.datetime` and `datetime.date` → Date.
 *  - A naive datetime is taken as UTC; an aware one may carry only a fixed-offset
 *    `datetime.timezone` (timezone.utc, timezone(timedelta(hours=2)) …), whose offset is applied.
 *    pytz / zoneinfo tzinfos are refused (their globals are not whitelisted). A date is midnight
 *    UTC. Microseconds are truncated to milliseconds (Date's precision).
 *  - A Python 2 `str` (STRING / BINSTRING / SHORT_BINSTRING) becomes a string when its bytes are
 *    UTF-8, else a Uint8Array.
 *  - A plain object lists integer-like keys ("42") before the others (JavaScript's property
 *    order), so a dict keyed by such logins is not iterated in Python's insertion order.
 *  - Shared and recursive references (the memo) stay shared in the result.
 *
 * The only globals are `datetime.{datetime,date,timezone,timedelta}` and the byte-string
 * constructors Python's pickler uses below protocol 3 (`_codecs.encode`, `builtins.bytes`,
 * `builtins.bytearray`, also as `__builtin__`); each is accepted only as REDUCE's callable with
 * the argument shapes Python writes, and a timedelta/timezone only inside a datetime. Any other
 * global, and the opcodes BUILD, INST, OBJ, NEWOBJ, NEWOBJ_EX, PERSID, BINPERSID, EXT1/2/4,
 * the set opcodes, NEXT_BUFFER and READONLY_BUFFER, throw PickleRefused when they are read,
 * before anything is made of them. Nothing in the pickle is ever called or constructed: the
 * whitelisted globals are names that this file decodes itself.
 */

/** Why a pickle was refused: a forbidden opcode/global, a malformed stream, or a resource cap. */
export type PickleRefusal = 'forbidden' | 'malformed' | 'limit'

/** The pickle is not read. The message names the opcode or global, never a data value. */
export class PickleRefused extends Error {
  override readonly name = 'PickleRefused'
  readonly reason: PickleRefusal
  /** Byte offset of the opcode that was refused, when there is one. */
  readonly offset: number | undefined

  constructor(reason: PickleRefusal, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`)
    this.reason = reason
    this.offset = offset
  }
}

export interface PickleLimits {
  /** Input longer than this is refused before it is read (the caller reads the file). */
  maxBytes?: number
  /** Distinct memo entries (PUT / MEMOIZE). */
  maxMemo?: number
  /** Values on the stack, counting those set aside under MARKs. */
  maxStack?: number
  /** Nesting of containers in the result, and of MARKs. */
  maxDepth?: number
}

export const PICKLE_LIMITS: Required<PickleLimits> = {
  maxBytes: 64 * 1024 * 1024,
  maxMemo: 4 * 1024 * 1024,
  maxStack: 1024 * 1024,
  maxDepth: 100,
}

/** Longest int as LONG1/LONG4 (bytes) or INT/LONG (digits): well past any real value. */
const MAX_INT_BYTES = 256
const MAX_INT_DIGITS = 640

// Internal values that never reach the result as they are.

/** A whitelisted global, only usable as REDUCE's callable. */
class PyGlobal {
  readonly qualified: AllowedGlobal
  constructor(qualified: AllowedGlobal) {
    this.qualified = qualified
  }
}
class PyTimedelta {
  readonly ms: number
  constructor(ms: number) {
    this.ms = ms
  }
}
class PyTimezone {
  readonly offsetMs: number
  constructor(offsetMs: number) {
    this.offsetMs = offsetMs
  }
}
/** A Python 2 str: its bytes, and what the result holds for it. */
class Py2Str {
  readonly raw: Uint8Array
  readonly value: string | Uint8Array
  constructor(raw: Uint8Array) {
    this.raw = raw
    this.value = decodeUtf8(raw) ?? raw
  }
}
class PyDict {
  readonly entries = new Map<unknown, unknown>()
  set(key: unknown, value: unknown): void {
    this.entries.set(key instanceof Py2Str ? key.value : key, value)
  }
}

const ALLOWED_GLOBALS = {
  'datetime.datetime': 'datetime',
  'datetime.date': 'date',
  'datetime.timezone': 'timezone',
  'datetime.timedelta': 'timedelta',
  '_codecs.encode': 'encode',
  'builtins.bytes': 'bytes',
  '__builtin__.bytes': 'bytes',
  'builtins.bytearray': 'bytes',
  '__builtin__.bytearray': 'bytes',
} as const
type AllowedGlobal = (typeof ALLOWED_GLOBALS)[keyof typeof ALLOWED_GLOBALS]

const OPCODE_NAMES: Record<number, string> = {
  40: 'MARK',
  46: 'STOP',
  48: 'POP',
  49: 'POP_MARK',
  50: 'DUP',
  70: 'FLOAT',
  73: 'INT',
  74: 'BININT',
  75: 'BININT1',
  76: 'LONG',
  77: 'BININT2',
  78: 'NONE',
  80: 'PERSID',
  81: 'BINPERSID',
  82: 'REDUCE',
  83: 'STRING',
  84: 'BINSTRING',
  85: 'SHORT_BINSTRING',
  86: 'UNICODE',
  88: 'BINUNICODE',
  97: 'APPEND',
  98: 'BUILD',
  99: 'GLOBAL',
  100: 'DICT',
  125: 'EMPTY_DICT',
  101: 'APPENDS',
  103: 'GET',
  104: 'BINGET',
  105: 'INST',
  106: 'LONG_BINGET',
  108: 'LIST',
  93: 'EMPTY_LIST',
  111: 'OBJ',
  112: 'PUT',
  113: 'BINPUT',
  114: 'LONG_BINPUT',
  115: 'SETITEM',
  116: 'TUPLE',
  41: 'EMPTY_TUPLE',
  117: 'SETITEMS',
  71: 'BINFLOAT',
  128: 'PROTO',
  129: 'NEWOBJ',
  130: 'EXT1',
  131: 'EXT2',
  132: 'EXT4',
  133: 'TUPLE1',
  134: 'TUPLE2',
  135: 'TUPLE3',
  136: 'NEWTRUE',
  137: 'NEWFALSE',
  138: 'LONG1',
  139: 'LONG4',
  66: 'BINBYTES',
  67: 'SHORT_BINBYTES',
  140: 'SHORT_BINUNICODE',
  141: 'BINUNICODE8',
  142: 'BINBYTES8',
  143: 'EMPTY_SET',
  144: 'ADDITEMS',
  145: 'FROZENSET',
  146: 'NEWOBJ_EX',
  147: 'STACK_GLOBAL',
  148: 'MEMOIZE',
  149: 'FRAME',
  150: 'BYTEARRAY8',
  151: 'NEXT_BUFFER',
  152: 'READONLY_BUFFER',
}

/** Opcodes that would build or call something other than data: refused on sight. */
const FORBIDDEN_OPCODES: Record<string, string> = {
  BUILD: 'sets an object’s state',
  INST: 'instantiates a class',
  OBJ: 'instantiates a class',
  NEWOBJ: 'instantiates a class',
  NEWOBJ_EX: 'instantiates a class',
  PERSID: 'loads a persistent object',
  BINPERSID: 'loads a persistent object',
  EXT1: 'loads a registered extension',
  EXT2: 'loads a registered extension',
  EXT4: 'loads a registered extension',
  EMPTY_SET: 'builds a set (not part of the import format)',
  ADDITEMS: 'builds a set (not part of the import format)',
  FROZENSET: 'builds a frozenset (not part of the import format)',
  NEXT_BUFFER: 'needs out-of-band buffers',
  READONLY_BUFFER: 'needs out-of-band buffers',
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

/** A name from the pickle, fit for an error message: printable, at most 80 characters. */
function quoteName(name: string): string {
  const shown = name.length > 80 ? `${name.slice(0, 80)}…` : name
  return JSON.stringify(shown)
}

/** Reads one pickle. Throws PickleRefused for anything but the data described above. */
export function readPickle(bytes: Uint8Array, limits: PickleLimits = {}): unknown {
  const lim = { ...PICKLE_LIMITS, ...limits }
  if (bytes.byteLength > lim.maxBytes) {
    throw new PickleRefused(
      'limit',
      `pickle refused: ${bytes.byteLength} bytes is over the limit of ${lim.maxBytes}`,
    )
  }
  // A plain Uint8Array view, so that .slice() copies even when given a Buffer (whose slice shares)
  const plain = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return new Unpickler(plain, lim).run()
}

class Unpickler {
  private pos = 0
  /** Where the current opcode starts, for messages. */
  private at = 0
  private stack: unknown[] = []
  private readonly metastack: unknown[][] = []
  /** Values in the metastack's frames. */
  private saved = 0
  private readonly memo = new Map<number, unknown>()
  private readonly view: DataView
  private readonly bytes: Uint8Array
  private readonly lim: Required<PickleLimits>

  constructor(bytes: Uint8Array, lim: Required<PickleLimits>) {
    this.bytes = bytes
    this.lim = lim
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  private malformed(what: string): PickleRefused {
    return new PickleRefused('malformed', `pickle refused: ${what}`, this.at)
  }

  private forbidden(what: string): PickleRefused {
    return new PickleRefused('forbidden', `pickle refused: ${what}`, this.at)
  }

  // Reading the stream.

  private need(n: number): void {
    if (n > this.bytes.byteLength - this.pos) {
      throw this.malformed('the pickle is truncated')
    }
  }

  private u8(): number {
    this.need(1)
    return this.bytes[this.pos++] as number
  }

  private take(n: number): Uint8Array {
    this.need(n)
    const out = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  private u16(): number {
    this.need(2)
    const v = this.view.getUint16(this.pos, true)
    this.pos += 2
    return v
  }

  private i32(): number {
    this.need(4)
    const v = this.view.getInt32(this.pos, true)
    this.pos += 4
    return v
  }

  private u32(): number {
    this.need(4)
    const v = this.view.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  /** An 8-byte length; anything past the input's end is truncation. */
  private u64(): number {
    this.need(8)
    const lo = this.view.getUint32(this.pos, true)
    const hi = this.view.getUint32(this.pos + 4, true)
    this.pos += 8
    const n = hi * 2 ** 32 + lo
    if (!Number.isSafeInteger(n)) throw this.malformed('the pickle is truncated')
    return n
  }

  /** The bytes up to the next newline (protocol 0's text arguments), without it. */
  private lineBytes(): Uint8Array {
    const end = this.bytes.indexOf(0x0a, this.pos)
    if (end < 0) throw this.malformed('the pickle is truncated (a line has no end)')
    const out = this.bytes.subarray(this.pos, end)
    this.pos = end + 1
    return out
  }

  /** A line that must be ASCII (numbers, names, memo indices). */
  private asciiLine(): string {
    const raw = this.lineBytes()
    let s = ''
    for (const b of raw) {
      if (b > 0x7e || (b < 0x20 && b !== 0x09)) throw this.malformed('a text argument is not ASCII')
      s += String.fromCharCode(b)
    }
    return s
  }

  // The stack.

  private push(value: unknown): void {
    if (this.stack.length + this.saved >= this.lim.maxStack) {
      throw new PickleRefused(
        'limit',
        `pickle refused: more than ${this.lim.maxStack} values on the stack`,
        this.at,
      )
    }
    this.stack.push(value)
  }

  private pop(): unknown {
    if (this.stack.length === 0) throw this.malformed('stack underflow')
    return this.stack.pop()
  }

  private top(): unknown {
    if (this.stack.length === 0) throw this.malformed('stack underflow')
    return this.stack[this.stack.length - 1]
  }

  /** The values since the last MARK, which is dropped. */
  private popMark(): unknown[] {
    const items = this.stack
    const outer = this.metastack.pop()
    if (outer === undefined) throw this.malformed('no MARK to pop to')
    this.saved -= outer.length
    this.stack = outer
    return items
  }

  private remember(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= this.lim.maxMemo) {
      throw new PickleRefused(
        'limit',
        `pickle refused: more than ${this.lim.maxMemo} memo entries`,
        this.at,
      )
    }
    this.memo.set(index, this.top())
  }

  private recall(index: number): void {
    if (!this.memo.has(index)) throw this.malformed('memo entry read before it was written')
    this.push(this.memo.get(index))
  }

  private memoIndex(): number {
    const line = this.asciiLine()
    if (!/^\d{1,10}$/.test(line)) throw this.malformed('a memo index is not a number')
    return Number(line)
  }

  run(): unknown {
    for (;;) {
      this.at = this.pos
      const code = this.u8()
      const name = OPCODE_NAMES[code]
      if (name === undefined) {
        throw this.malformed(`unknown opcode 0x${code.toString(16).padStart(2, '0')}`)
      }
      const why = FORBIDDEN_OPCODES[name]
      if (why !== undefined) throw this.forbidden(`opcode ${name} ${why}`)
      if (name === 'STOP') {
        if (this.metastack.length > 0 || this.stack.length !== 1) {
          throw this.malformed('STOP with an unbalanced stack')
        }
        if (this.pos !== this.bytes.byteLength) {
          throw this.malformed('data after STOP (several pickles in one file?)')
        }
        return new Materializer(this.lim.maxDepth).value(this.stack[0], 0)
      }
      this.step(name)
    }
  }

  private step(op: string): void {
    switch (op) {
      case 'PROTO': {
        const version = this.u8()
        if (version > 5) throw this.malformed(`unsupported protocol ${version}`)
        return
      }
      case 'FRAME': {
        const length = this.u64()
        if (length > this.bytes.byteLength - this.pos)
          throw this.malformed('the pickle is truncated')
        return
      }
      case 'MARK':
        if (this.metastack.length >= this.lim.maxDepth) {
          throw new PickleRefused(
            'limit',
            `pickle refused: MARKs nested deeper than ${this.lim.maxDepth}`,
            this.at,
          )
        }
        this.metastack.push(this.stack)
        this.saved += this.stack.length
        this.stack = []
        return
      case 'POP':
        if (this.stack.length === 0) {
          this.popMark() // CPython pops a MARK here
        } else this.stack.pop()
        return
      case 'POP_MARK':
        this.popMark()
        return
      case 'DUP':
        this.push(this.top())
        return

      case 'PUT':
        this.remember(this.memoIndex())
        return
      case 'BINPUT':
        this.remember(this.u8())
        return
      case 'LONG_BINPUT':
        this.remember(this.u32())
        return
      case 'MEMOIZE':
        this.remember(this.memo.size)
        return
      case 'GET':
        this.recall(this.memoIndex())
        return
      case 'BINGET':
        this.recall(this.u8())
        return
      case 'LONG_BINGET':
        this.recall(this.u32())
        return

      case 'NONE':
        this.push(null)
        return
      case 'NEWTRUE':
        this.push(true)
        return
      case 'NEWFALSE':
        this.push(false)
        return
      case 'INT': {
        const line = this.asciiLine()
        if (line === '01') this.push(true)
        else if (line === '00') this.push(false)
        else this.push(this.decimal(line))
        return
      }
      case 'LONG':
        this.push(this.decimal(this.asciiLine().replace(/L$/, '')))
        return
      case 'BININT':
        this.push(this.i32())
        return
      case 'BININT1':
        this.push(this.u8())
        return
      case 'BININT2':
        this.push(this.u16())
        return
      case 'LONG1':
        this.push(this.twosComplement(this.u8()))
        return
      case 'LONG4': {
        const n = this.i32()
        if (n < 0) throw this.malformed('LONG4 with a negative length')
        this.push(this.twosComplement(n))
        return
      }
      case 'FLOAT':
        this.push(this.floatText(this.asciiLine()))
        return
      case 'BINFLOAT': {
        this.need(8)
        this.push(this.view.getFloat64(this.pos, false))
        this.pos += 8
        return
      }

      case 'STRING':
        this.push(new Py2Str(this.quotedString(this.lineBytes())))
        return
      case 'BINSTRING': {
        const n = this.i32()
        if (n < 0) throw this.malformed('BINSTRING with a negative length')
        this.push(new Py2Str(this.take(n).slice()))
        return
      }
      case 'SHORT_BINSTRING':
        this.push(new Py2Str(this.take(this.u8()).slice()))
        return
      case 'UNICODE':
        this.push(rawUnicodeEscape(this.lineBytes()))
        return
      case 'BINUNICODE':
        this.push(this.text(this.u32()))
        return
      case 'SHORT_BINUNICODE':
        this.push(this.text(this.u8()))
        return
      case 'BINUNICODE8':
        this.push(this.text(this.u64()))
        return
      case 'BINBYTES':
        this.push(this.take(this.u32()).slice())
        return
      case 'SHORT_BINBYTES':
        this.push(this.take(this.u8()).slice())
        return
      case 'BINBYTES8':
      case 'BYTEARRAY8':
        this.push(this.take(this.u64()).slice())
        return

      case 'EMPTY_TUPLE':
      case 'EMPTY_LIST':
        this.push([])
        return
      case 'TUPLE1':
        this.push([this.pop()])
        return
      case 'TUPLE2': {
        const b = this.pop()
        const a = this.pop()
        this.push([a, b])
        return
      }
      case 'TUPLE3': {
        const c = this.pop()
        const b = this.pop()
        const a = this.pop()
        this.push([a, b, c])
        return
      }
      case 'TUPLE':
      case 'LIST': {
        const items = this.popMark()
        this.push(items)
        return
      }
      case 'APPEND': {
        const item = this.pop()
        this.list(this.top()).push(item)
        return
      }
      case 'APPENDS': {
        const items = this.popMark()
        const list = this.list(this.top())
        for (const item of items) list.push(item)
        return
      }

      case 'EMPTY_DICT':
        this.push(new PyDict())
        return
      case 'DICT': {
        const items = this.popMark()
        if (items.length % 2 !== 0) throw this.malformed('DICT with an odd number of items')
        const dict = new PyDict()
        for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1])
        this.push(dict)
        return
      }
      case 'SETITEM': {
        const value = this.pop()
        const key = this.pop()
        this.dict(this.top()).set(key, value)
        return
      }
      case 'SETITEMS': {
        const items = this.popMark()
        if (items.length % 2 !== 0) throw this.malformed('SETITEMS with an odd number of items')
        const dict = this.dict(this.top())
        for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1])
        return
      }

      case 'GLOBAL': {
        const module = this.asciiLine()
        const name = this.asciiLine()
        this.push(this.global(module, name))
        return
      }
      case 'STACK_GLOBAL': {
        const name = this.pop()
        const module = this.pop()
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw this.forbidden('STACK_GLOBAL whose module and name are not strings')
        }
        this.push(this.global(module, name))
        return
      }
      case 'REDUCE': {
        const args = this.pop()
        const callable = this.pop()
        this.push(this.reduce(callable, args))
        return
      }
      default:
        throw this.malformed(`opcode ${op} is not handled`)
    }
  }

  private list(target: unknown): unknown[] {
    if (!Array.isArray(target)) throw this.malformed('APPEND to something that is not a list')
    return target
  }

  private dict(target: unknown): PyDict {
    if (!(target instanceof PyDict)) throw this.malformed('SETITEM on something that is not a dict')
    return target
  }

  private text(n: number): string {
    const s = decodeUtf8(this.take(n))
    if (s === undefined) throw this.malformed('a str is not valid UTF-8')
    return s
  }

  private decimal(text: string): number | bigint {
    if (text.length > MAX_INT_DIGITS) {
      throw new PickleRefused('limit', 'pickle refused: an int is too long', this.at)
    }
    if (!/^[+-]?\d+$/.test(text)) throw this.malformed('an int is not a decimal number')
    return narrow(BigInt(text))
  }

  /** LONG1/LONG4: n bytes of little-endian two's complement. */
  private twosComplement(n: number): number | bigint {
    if (n > MAX_INT_BYTES)
      throw new PickleRefused('limit', 'pickle refused: an int is too long', this.at)
    const bytes = this.take(n)
    if (n === 0) return 0
    let v = 0n
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number)
    if ((bytes[n - 1] as number) & 0x80) v -= 1n << BigInt(8 * n)
    return narrow(v)
  }

  private floatText(text: string): number {
    const t = text.trim().toLowerCase()
    if (t === 'inf' || t === '+inf') return Number.POSITIVE_INFINITY
    if (t === '-inf') return Number.NEGATIVE_INFINITY
    if (t === 'nan' || t === '-nan' || t === '+nan') return Number.NaN
    if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t))
      throw this.malformed('a float is not a number')
    return Number(t)
  }

  /** Protocol 0's STRING: a Python 2 repr, quoted, with backslash escapes. */
  private quotedString(line: Uint8Array): Uint8Array {
    const q = line[0]
    if (line.length < 2 || (q !== 0x27 && q !== 0x22) || line[line.length - 1] !== q) {
      throw this.malformed('STRING argument is not quoted')
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
      if (e === undefined) throw this.malformed('STRING ends in a backslash')
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
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw this.malformed('STRING has a bad \\x escape')
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

  private global(module: string, name: string): PyGlobal {
    const qualified = `${module}.${name}`
    const allowed = Object.hasOwn(ALLOWED_GLOBALS, qualified)
      ? ALLOWED_GLOBALS[qualified as keyof typeof ALLOWED_GLOBALS]
      : undefined
    if (allowed === undefined) {
      throw this.forbidden(
        `global ${quoteName(qualified)} is not allowed (only datetime values and byte strings)`,
      )
    }
    return new PyGlobal(allowed)
  }

  /** REDUCE, for the whitelisted globals and the argument shapes Python's pickler writes. */
  private reduce(callable: unknown, args: unknown): unknown {
    if (!(callable instanceof PyGlobal)) {
      throw this.forbidden('REDUCE on something that is not an allowed global')
    }
    if (!Array.isArray(args)) throw this.malformed('REDUCE arguments are not a tuple')
    const bad = (): PickleRefused =>
      this.forbidden(`REDUCE of ${callable.qualified} with arguments Python does not write`)
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
          throw this.forbidden('a datetime’s tzinfo is not a datetime.timezone')
        }
        const date = decodeDatetime(raw, tz instanceof PyTimezone ? tz.offsetMs : 0)
        if (date === undefined) throw this.malformed('a datetime is out of range')
        return date
      }
      case 'date': {
        const raw = stateBytes(args[0])
        if (args.length !== 1 || raw?.length !== 4) throw bad()
        const date = decodeDate(raw)
        if (date === undefined) throw this.malformed('a date is out of range')
        return date
      }
    }
  }
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v
}

function isLatin1Name(encoding: unknown): boolean {
  return typeof encoding === 'string' && /^latin[-_]?1$/i.test(encoding)
}

function latin1(text: string): Uint8Array | undefined {
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c > 0xff) return undefined
    out[i] = c
  }
  return out
}

/** A datetime/date state: bytes, or (as Python 2 and CPython's compatibility path) latin-1 text. */
function stateBytes(state: unknown): Uint8Array | undefined {
  if (state instanceof Uint8Array) return state
  if (state instanceof Py2Str) return state.raw
  if (typeof state === 'string') return latin1(state)
  return undefined
}

/** Python 3 pickles a str below protocol 1 as raw-unicode-escape: latin-1 bytes and \uXXXX. */
function rawUnicodeEscape(raw: Uint8Array): string {
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
function decodeDatetime(b: Uint8Array, offsetMs: number): Date | undefined {
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

function decodeDate(b: Uint8Array): Date | undefined {
  return utcDate(((b[0] as number) << 8) | (b[1] as number), b[2] as number, b[3] as number)
}

/**
 * Turns the interpreter's values into the result: PyDict → object or Map, Python 2 str → its
 * value; a global, timedelta or timezone left over as data is refused. Shared (and cyclic)
 * references stay shared.
 */
class Materializer {
  private readonly done = new Map<object, unknown>()
  private readonly maxDepth: number

  constructor(maxDepth: number) {
    this.maxDepth = maxDepth
  }

  value(v: unknown, depth: number): unknown {
    if (v === null || typeof v !== 'object') return v
    if (v instanceof Uint8Array || v instanceof Date) return v
    if (v instanceof Py2Str) return v.value
    if (v instanceof PyGlobal) {
      throw new PickleRefused('forbidden', `pickle refused: a bare global (${v.qualified}) as data`)
    }
    if (v instanceof PyTimedelta) {
      throw new PickleRefused(
        'forbidden',
        'pickle refused: a datetime.timedelta outside a timezone',
      )
    }
    if (v instanceof PyTimezone) {
      throw new PickleRefused('forbidden', 'pickle refused: a datetime.timezone outside a datetime')
    }
    const seen = this.done.get(v)
    if (seen !== undefined) return seen
    if (depth >= this.maxDepth) {
      throw new PickleRefused('limit', `pickle refused: nested deeper than ${this.maxDepth}`)
    }
    if (Array.isArray(v)) {
      const out: unknown[] = []
      this.done.set(v, out)
      for (const item of v) out.push(this.value(item, depth + 1))
      return out
    }
    if (v instanceof PyDict) {
      const stringKeys = [...v.entries.keys()].every((k) => typeof k === 'string')
      if (stringKeys) {
        const out: Record<string, unknown> = {}
        this.done.set(v, out)
        for (const [k, item] of v.entries) {
          Object.defineProperty(out, k as string, {
            value: this.value(item, depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          })
        }
        return out
      }
      const out = new Map<unknown, unknown>()
      this.done.set(v, out)
      for (const [k, item] of v.entries) {
        out.set(this.value(k, depth + 1), this.value(item, depth + 1))
      }
      return out
    }
    throw new PickleRefused('forbidden', 'pickle refused: an unexpected value')
  }
}
