/** Opcodes that build tuples, lists and dicts. */
import type { Machine } from './machine.ts'
import { PyDict } from './values.ts'

/** Tuples, lists and dicts; false for any other opcode. */
export function containerOp(m: Machine, op: string): boolean {
  switch (op) {
    case 'EMPTY_TUPLE':
    case 'EMPTY_LIST':
      m.push([])
      return true
    case 'TUPLE1':
      m.push([m.pop()])
      return true
    case 'TUPLE2': {
      const b = m.pop()
      const a = m.pop()
      m.push([a, b])
      return true
    }
    case 'TUPLE3': {
      const c = m.pop()
      const b = m.pop()
      const a = m.pop()
      m.push([a, b, c])
      return true
    }
    case 'TUPLE':
    case 'LIST': {
      const items = m.popMark()
      m.push(items)
      return true
    }
    case 'APPEND': {
      const item = m.pop()
      asList(m, m.top()).push(item)
      return true
    }
    case 'APPENDS': {
      const items = m.popMark()
      const list = asList(m, m.top())
      for (const item of items) list.push(item)
      return true
    }

    case 'EMPTY_DICT':
      m.push(new PyDict())
      return true
    case 'DICT': {
      const items = m.popMark()
      if (items.length % 2 !== 0) throw m.malformed('DICT with an odd number of items')
      const dict = new PyDict()
      for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1])
      m.push(dict)
      return true
    }
    case 'SETITEM': {
      const value = m.pop()
      const key = m.pop()
      asDict(m, m.top()).set(key, value)
      return true
    }
    case 'SETITEMS': {
      const items = m.popMark()
      if (items.length % 2 !== 0) throw m.malformed('SETITEMS with an odd number of items')
      const dict = asDict(m, m.top())
      for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1])
      return true
    }
    default:
      return false
  }
}

function asList(m: Machine, target: unknown): unknown[] {
  if (!Array.isArray(target)) throw m.malformed('APPEND to something that is not a list')
  return target
}

function asDict(m: Machine, target: unknown): PyDict {
  if (!(target instanceof PyDict)) throw m.malformed('SETITEM on something that is not a dict')
  return target
}
