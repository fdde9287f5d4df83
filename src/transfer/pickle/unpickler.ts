import { containerOp } from './containers.ts'
import { Machine } from './machine.ts'
import { Materializer } from './materialize.ts'
import { numberOp } from './numbers.ts'
import { FORBIDDEN_OPCODES, OPCODE_NAMES } from './opcodes.ts'
import { globalOp } from './reduce.ts'
import { PickleRefused } from './refused.ts'
import { stringOp } from './strings.ts'

/**
 * The opcode loop. An opcode is named and checked against the forbidden table before any of it
 * is read; this file runs the framing, stack and memo opcodes, the others go to their family.
 */
export class Unpickler extends Machine {
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

      default:
        if (
          numberOp(this, op) ||
          stringOp(this, op) ||
          containerOp(this, op) ||
          globalOp(this, op)
        ) {
          return
        }
        throw this.malformed(`opcode ${op} is not handled`)
    }
  }
}
