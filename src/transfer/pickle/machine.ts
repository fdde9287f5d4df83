import { type PickleLimits, PickleRefused } from './refused.ts'

/**
 * The interpreter's state and the primitives every opcode uses: reading the stream, the stack
 * with its MARKs, the memo. Its members are public for the opcode files of this folder;
 * index.ts exports none of it.
 */
export class Machine {
  pos = 0
  /** Where the current opcode starts, for messages. */
  at = 0
  stack: unknown[] = []
  readonly metastack: unknown[][] = []
  /** Values in the metastack's frames. */
  saved = 0
  readonly memo = new Map<number, unknown>()
  readonly view: DataView
  readonly bytes: Uint8Array
  readonly lim: Required<PickleLimits>

  constructor(bytes: Uint8Array, lim: Required<PickleLimits>) {
    this.bytes = bytes
    this.lim = lim
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  malformed(what: string): PickleRefused {
    return new PickleRefused('malformed', `pickle refused: ${what}`, this.at)
  }

  forbidden(what: string): PickleRefused {
    return new PickleRefused('forbidden', `pickle refused: ${what}`, this.at)
  }

  // Reading the stream.

  need(n: number): void {
    if (n > this.bytes.byteLength - this.pos) {
      throw this.malformed('the pickle is truncated')
    }
  }

  u8(): number {
    this.need(1)
    return this.bytes[this.pos++] as number
  }

  take(n: number): Uint8Array {
    this.need(n)
    const out = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  u16(): number {
    this.need(2)
    const v = this.view.getUint16(this.pos, true)
    this.pos += 2
    return v
  }

  i32(): number {
    this.need(4)
    const v = this.view.getInt32(this.pos, true)
    this.pos += 4
    return v
  }

  u32(): number {
    this.need(4)
    const v = this.view.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  /** An 8-byte length; anything past the input's end is truncation. */
  u64(): number {
    this.need(8)
    const lo = this.view.getUint32(this.pos, true)
    const hi = this.view.getUint32(this.pos + 4, true)
    this.pos += 8
    const n = hi * 2 ** 32 + lo
    if (!Number.isSafeInteger(n)) throw this.malformed('the pickle is truncated')
    return n
  }

  /** The bytes up to the next newline (protocol 0's text arguments), without it. */
  lineBytes(): Uint8Array {
    const end = this.bytes.indexOf(0x0a, this.pos)
    if (end < 0) throw this.malformed('the pickle is truncated (a line has no end)')
    const out = this.bytes.subarray(this.pos, end)
    this.pos = end + 1
    return out
  }

  /** A line that must be ASCII (numbers, names, memo indices). */
  asciiLine(): string {
    const raw = this.lineBytes()
    let s = ''
    for (const b of raw) {
      if (b > 0x7e || (b < 0x20 && b !== 0x09)) throw this.malformed('a text argument is not ASCII')
      s += String.fromCharCode(b)
    }
    return s
  }

  // The stack.

  push(value: unknown): void {
    if (this.stack.length + this.saved >= this.lim.maxStack) {
      throw new PickleRefused(
        'limit',
        `pickle refused: more than ${this.lim.maxStack} values on the stack`,
        this.at,
      )
    }
    this.stack.push(value)
  }

  pop(): unknown {
    if (this.stack.length === 0) throw this.malformed('stack underflow')
    return this.stack.pop()
  }

  top(): unknown {
    if (this.stack.length === 0) throw this.malformed('stack underflow')
    return this.stack[this.stack.length - 1]
  }

  /** The values since the last MARK, which is dropped. */
  popMark(): unknown[] {
    const items = this.stack
    const outer = this.metastack.pop()
    if (outer === undefined) throw this.malformed('no MARK to pop to')
    this.saved -= outer.length
    this.stack = outer
    return items
  }

  remember(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= this.lim.maxMemo) {
      throw new PickleRefused(
        'limit',
        `pickle refused: more than ${this.lim.maxMemo} memo entries`,
        this.at,
      )
    }
    this.memo.set(index, this.top())
  }

  recall(index: number): void {
    if (!this.memo.has(index)) throw this.malformed('memo entry read before it was written')
    this.push(this.memo.get(index))
  }

  memoIndex(): number {
    const line = this.asciiLine()
    if (!/^\d{1,10}$/.test(line)) throw this.malformed('a memo index is not a number')
    return Number(line)
  }
}
