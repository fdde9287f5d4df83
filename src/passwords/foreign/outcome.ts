import { timingSafeEqual } from 'node:crypto'
import type { HashRefusal } from './types.ts'

/** A hash a scheme has read: its name, whether it is weak, and how to check a password. */
export interface Recognised {
  scheme: string
  weak: boolean
  verify(password: string): Promise<boolean>
}

/** A refusal as parseImportedHash returns it. `detail` never holds the hash or a password. */
export interface Refusal {
  ok: false
  reason: HashRefusal
  detail?: string
}

export type Outcome = Recognised | Refusal

export const refuse = (reason: HashRefusal, detail?: string): Refusal =>
  detail === undefined ? { ok: false, reason } : { ok: false, reason, detail }
export const malformed = (detail: string): Refusal => refuse('malformed_hash', detail)
export const isRefusal = <T extends object>(x: T | Refusal): x is Refusal => 'ok' in x

/** Constant-time once the lengths match; the length of a digest is no secret. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

export const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8')
