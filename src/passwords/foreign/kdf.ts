// PBKDF2 and scrypt, shared by the formats that wrap them, with the cost limits an import obeys.
import { pbkdf2, scrypt } from 'node:crypto'
import { promisify } from 'node:util'
import { malformed, type Outcome, type Refusal, refuse, sameBytes, utf8 } from './outcome.ts'

// What one imported row may cost at login: a hash thread for about a second, or this much memory.
export const MAX_PBKDF2_ITERATIONS = 5_000_000
export const MAX_SCRYPT_BYTES = 256 * 1024 * 1024
export const MAX_SCRYPT_P = 16
export const MAX_BCRYPT_COST = 16
export const MAX_ARGON2 = { memoryKiB: 262_144, time: 20, parallelism: 16 }

export type Pbkdf2Digest = 'sha1' | 'sha256' | 'sha512'
export const DIGEST_BYTES = { md5: 16, sha1: 20, sha256: 32, sha512: 64 } as const

const pbkdf2Async = promisify(pbkdf2)
const scryptAsync = promisify(scrypt) as (
  password: Uint8Array,
  salt: Uint8Array,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>

/** PBKDF2 runs its iterations once per digest-sized block of output, so both count. */
export function checkPbkdf2(
  iterations: number,
  digest: Pbkdf2Digest,
  keyBytes: number,
): Refusal | undefined {
  if (!Number.isInteger(iterations)) return malformed('iterations not an integer')
  if (iterations < 1) return malformed('iterations below 1')
  if (keyBytes < 1) return malformed('empty hash')
  const blocks = Math.ceil(keyBytes / DIGEST_BYTES[digest])
  if (iterations * blocks > MAX_PBKDF2_ITERATIONS) return refuse('unsafe_cost', 'pbkdf2 iterations')
  return undefined
}

/** RFC 7914 section 2: N a power of two above 1, r and p positive. Memory counted as 128·N·r·p. */
export function checkScrypt(N: number, r: number, p: number): Refusal | undefined {
  if (![N, r, p].every(Number.isInteger)) return malformed('scrypt parameters not integers')
  if (N < 2 || !Number.isInteger(Math.log2(N)) || r < 1 || p < 1)
    return malformed('scrypt parameters')
  if (p > MAX_SCRYPT_P || 128 * N * r * p > MAX_SCRYPT_BYTES)
    return refuse('unsafe_cost', 'scrypt memory')
  return undefined
}

/** PBKDF2-HMAC of the password's UTF-8 with dklen = the stored hash's length. */
export function pbkdf2Hash(
  scheme: string,
  digest: Pbkdf2Digest,
  iterations: number,
  salt: Uint8Array,
  expected: Uint8Array,
): Outcome {
  const bad = checkPbkdf2(iterations, digest, expected.length)
  if (bad) return bad
  return {
    scheme,
    weak: salt.length === 0,
    verify: async (password) =>
      sameBytes(
        await pbkdf2Async(utf8(password), salt, iterations, expected.length, digest),
        expected,
      ),
  }
}

export function scryptKey(
  password: Uint8Array,
  salt: Uint8Array,
  N: number,
  r: number,
  p: number,
  keyBytes: number,
) {
  // OpenSSL refuses when 128·r·(N+p+2) exceeds maxmem (crypto/evp/pbe_scrypt.c): leave that room.
  return scryptAsync(password, salt, keyBytes, { N, r, p, maxmem: 128 * r * (N + p + 2) + 65536 })
}

/** scrypt of the password's UTF-8 with dklen = the stored hash's length. */
export function scryptHash(
  scheme: string,
  params: { N: number; r: number; p: number },
  salt: Uint8Array,
  expected: Uint8Array,
): Outcome {
  const { N, r, p } = params
  const bad = checkScrypt(N, r, p)
  if (bad) return bad
  if (expected.length < 16) return malformed('scrypt: hash too short')
  return {
    scheme,
    weak: salt.length === 0,
    verify: async (password) =>
      sameBytes(await scryptKey(utf8(password), salt, N, r, p, expected.length), expected),
  }
}
