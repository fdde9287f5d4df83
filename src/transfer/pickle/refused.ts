/** The reader's refusal and its caps, apart from index.ts so that the interpreter can use them. */

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
