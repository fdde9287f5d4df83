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
 * whitelisted globals are names that this folder decodes itself (reduce.ts).
 */

import { PICKLE_LIMITS, type PickleLimits, PickleRefused } from './refused.ts'
import { Unpickler } from './unpickler.ts'

export { PICKLE_LIMITS, type PickleLimits, type PickleRefusal, PickleRefused } from './refused.ts'

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
