// What the JSON body parser must accept or refuse: sizes, bytes, keys and content types.
import fc from 'fast-check'
import { hasDuplicateKey } from '../../../src/http/duplicate-keys.ts'

/** Fastify's body limit (src/app.ts BODY_LIMIT), restated: the tests check the number. */
export const LIMIT = 16 * 1024

/** An endpoint that reads a JSON body, and the fields of that body. */
export interface Endpoint {
  method: 'POST' | 'PUT' | 'DELETE'
  url: string
  fields: string[]
  /** Sent with alice's access token. */
  auth?: boolean
}

export const REGISTER: Endpoint = { method: 'POST', url: '/user/', fields: ['login', 'password'] }
export const LOGIN: Endpoint = { method: 'POST', url: '/session/', fields: ['login', 'password'] }
export const REFRESH: Endpoint = {
  method: 'POST',
  url: '/session/refresh',
  fields: ['refresh_token'],
}
export const LOGOUT: Endpoint = { method: 'DELETE', url: '/session/', fields: ['refresh_token'] }
export const CHANGE_PASSWORD: Endpoint = {
  method: 'PUT',
  url: '/user/me/password',
  fields: ['current_password', 'new_password'],
  auth: true,
}
export const BODY_ENDPOINTS = [REGISTER, LOGIN, REFRESH, LOGOUT, CHANGE_PASSWORD]

/** Byte sequences that are not UTF-8: stray continuation, truncations, overlongs, surrogates. */
export const invalidUtf8: fc.Arbitrary<number[]> = fc.constantFrom<number[]>(
  [0x80],
  [0xbf],
  [0xff],
  [0xfe],
  [0xc0, 0xaf],
  [0xc1, 0xbf],
  [0xc3],
  [0xe2, 0x82],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf0, 0x9f, 0x98],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
)

export function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

/** Puts `insert` into `text` at a fraction `at` (0..1) of its length, as bytes. */
export function spliceBytes(text: string | Buffer, at: number, insert: number[]): Buffer {
  const bytes = Buffer.from(text)
  const i = Math.floor(at * bytes.length)
  return Buffer.concat([bytes.subarray(0, i), Buffer.from(insert), bytes.subarray(i)])
}

/**
 * The class of a JSON body by the rules the issue sets: 413 over 16 KiB, 400 malformed_json for
 * non-UTF-8, empty, non-JSON, or `__proto__` / `constructor.prototype` anywhere; else parsed.
 */
export function bodyClass(
  bytes: Buffer,
): { kind: 'too_large' } | { kind: 'malformed' } | { kind: 'parsed'; value: unknown } {
  if (bytes.length > LIMIT) return { kind: 'too_large' }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return { kind: 'malformed' }
  }
  if (text.trim() === '') return { kind: 'malformed' }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { kind: 'malformed' }
  }
  // A body with a key twice is refused (test/http/duplicate-keys.test.ts checks the detector).
  if (hasForbiddenKey(value) || hasDuplicateKey(text)) return { kind: 'malformed' }
  return { kind: 'parsed', value }
}

function hasForbiddenKey(value: unknown): boolean {
  const stack = [value]
  while (stack.length > 0) {
    const node = stack.pop()
    if (typeof node !== 'object' || node === null) continue
    if (Object.hasOwn(node, '__proto__')) return true
    const ctor = Object.hasOwn(node, 'constructor')
      ? (node as { constructor: unknown }).constructor
      : undefined
    if (typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) return true
    stack.push(...Object.values(node))
  }
  return false
}

/** A parsed body that is exactly an object of these string fields (and nothing else). */
export function exactStrings(value: unknown, fields: string[]): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const keys = Object.keys(value)
  if (keys.length !== fields.length || !fields.every((f) => keys.includes(f))) return undefined
  const record = value as Record<string, unknown>
  return fields.every((f) => typeof record[f] === 'string')
    ? (record as Record<string, string>)
    : undefined
}

/** Content types Fastify must read as JSON: no charset, or UTF-8 (RFC 8259 §8.1). */
export const jsonContentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=UTF-8',
  'application/json;charset=utf-8',
  'application/json; charset="utf-8"',
  'Application/JSON',
  'APPLICATION/JSON; CHARSET=UTF-8',
  'application/Json',
)

/**
 * Content types that are not JSON, or JSON in a charset other than UTF-8: 415. `undefined` = no
 * Content-Type header.
 */
export const otherContentType = fc.constantFrom(
  undefined,
  'application/json; charset=latin1',
  'application/json; charset=iso-8859-1',
  'application/json; charset=utf-16',
  'text/plain',
  'text/plain; charset=utf-8',
  'text/json',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'multipart/form-data',
  'application/problem+json',
  'application/jsonx',
  'application/json-patch+json',
  'application/ld+json',
  'application/xml',
  'application/octet-stream',
  'application',
  'json',
  '*/*',
  'application/*',
  'x-weird/type',
)
