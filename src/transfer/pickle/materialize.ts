import { PickleRefused } from './refused.ts'
import { Py2Str, PyDict, PyGlobal, PyTimedelta, PyTimezone } from './values.ts'

/**
 * Turns the interpreter's values into the result: PyDict → object or Map, Python 2 str → its
 * value; a global, timedelta or timezone left over as data is refused. Shared (and cyclic)
 * references stay shared.
 */
export class Materializer {
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
