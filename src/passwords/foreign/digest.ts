// Structured digests from an import record (types.ts), and the string the users row keeps for
// them: `$usersvc-digest$` + base64url of canonical JSON, Firebase's project parameters included.
import { createCipheriv, createHash } from 'node:crypto'
import { fromBase64, fromHex } from './encoding.ts'
import { checkScrypt, DIGEST_BYTES, pbkdf2Hash, scryptKey } from './kdf.ts'
import { malformed, type Outcome, type Refusal, refuse, sameBytes, utf8 } from './outcome.ts'
import {
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type FirebaseParams,
  type StructuredDigest,
} from './types.ts'

export const DIGEST_PREFIX = '$usersvc-digest$'

/** The stored JSON: a StructuredDigest with its defaults written out, and Firebase's parameters. */
export interface CanonicalDigest extends StructuredDigest {
  firebase?: FirebaseParams
}

const FIELDS = new Set([
  'algorithm',
  'salt',
  'hash',
  'iterations',
  'encoding',
  'salt_encoding',
  'template',
  'firebase',
])
const MAX_TEXT = 1024

/** Checks an import record's digest object (or a decoded stored one) and writes out its defaults. */
export function canonicalDigest(
  input: Record<string, unknown>,
  firebase: FirebaseParams | undefined,
): CanonicalDigest | Refusal {
  const { algorithm, salt = '', hash, iterations, template } = input
  if (
    typeof algorithm !== 'string' ||
    !(DIGEST_ALGORITHMS as readonly string[]).includes(algorithm)
  )
    return refuse('unknown_hash', 'digest algorithm')
  const extra = Object.keys(input).find((key) => !FIELDS.has(key))
  if (extra !== undefined) return malformed(`digest: unexpected field ${extra.slice(0, 40)}`)
  if (typeof hash !== 'string' || typeof salt !== 'string')
    return malformed('digest: hash or salt not text')
  if (hash.length > MAX_TEXT || salt.length > MAX_TEXT) return malformed('digest: too long')
  const isFirebase = algorithm === 'firebase-scrypt'
  const isPbkdf2 = algorithm.startsWith('pbkdf2-')
  // Firebase's export (`firebase auth:export`) writes salt and hash in base64: those are its defaults.
  const encoding = input.encoding ?? (isFirebase ? 'base64' : 'hex')
  const saltEncoding = input.salt_encoding ?? (isFirebase ? 'base64' : 'utf8')
  if (encoding !== 'hex' && encoding !== 'base64') return malformed('digest: encoding')
  if (saltEncoding !== 'hex' && saltEncoding !== 'base64' && saltEncoding !== 'utf8')
    return malformed('digest: salt_encoding')
  const out: CanonicalDigest = { algorithm: algorithm as DigestAlgorithm, hash, encoding }
  if (salt !== '') Object.assign(out, { salt, salt_encoding: saltEncoding })
  if (isPbkdf2) {
    if (typeof iterations !== 'number') return malformed('digest: pbkdf2 needs iterations')
    out.iterations = iterations
  } else if (iterations !== undefined) return malformed('digest: iterations are for pbkdf2')
  if (isPbkdf2 || isFirebase) {
    if (template !== undefined) return malformed('digest: template is for plain digests')
  } else {
    const text = template ?? '{salt}{password}'
    if (typeof text !== 'string' || text.length > MAX_TEXT) return malformed('digest: template')
    if (/[{}]/.test(text.replace(/\{(?:salt|password)\}/g, '')) || !text.includes('{password}'))
      return malformed('digest: template takes {salt} and {password} only')
    out.template = text
  }
  if (!isFirebase && input.firebase !== undefined)
    return malformed('digest: firebase is for firebase-scrypt')
  if (isFirebase) {
    const params = (input.firebase as FirebaseParams | undefined) ?? firebase
    if (params === undefined) return refuse('firebase_params_missing')
    const { signerKey, saltSeparator, rounds, memCost } = params
    out.firebase = { signerKey, saltSeparator, rounds, memCost }
  }
  return out
}

export function storedDigest(digest: CanonicalDigest): string {
  return DIGEST_PREFIX + Buffer.from(JSON.stringify(digest)).toString('base64url')
}

/** The stored string's JSON, or undefined when it is not one we wrote. */
export function readStoredDigest(stored: string): Record<string, unknown> | undefined {
  const b64 = stored.slice(DIGEST_PREFIX.length)
  const bytes = Buffer.from(b64, 'base64url')
  if (!stored.startsWith(DIGEST_PREFIX) || bytes.toString('base64url') !== b64) return undefined
  try {
    const json: unknown = JSON.parse(bytes.toString('utf8'))
    return typeof json === 'object' && json !== null && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

export const digestScheme = (algorithm: string) =>
  algorithm === 'firebase-scrypt' ? algorithm : `digest-${algorithm}`

const decode = (text: string, encoding: string | undefined) =>
  encoding === 'hex' ? fromHex(text) : encoding === 'base64' ? fromBase64(text) : utf8(text)

/** What verifies a password against a canonical digest, or why it cannot be. */
export function digestOutcome(digest: CanonicalDigest): Outcome {
  const { algorithm } = digest
  const scheme = digestScheme(algorithm)
  const salt = decode(digest.salt ?? '', digest.salt_encoding)
  const hash = decode(digest.hash, digest.encoding)
  if (!salt || !hash) return malformed(`${scheme}: salt or hash not ${digest.encoding}`)
  if (algorithm === 'firebase-scrypt')
    return firebaseOutcome(digest.firebase as FirebaseParams, salt, hash)
  if (algorithm === 'pbkdf2-sha256' || algorithm === 'pbkdf2-sha512')
    return pbkdf2Hash(
      scheme,
      algorithm === 'pbkdf2-sha256' ? 'sha256' : 'sha512',
      digest.iterations ?? 0,
      salt,
      hash,
    )
  if (hash.length !== DIGEST_BYTES[algorithm]) return malformed(`${scheme}: hash length`)
  const parts = (digest.template ?? '{salt}{password}').split(/(\{salt\}|\{password\})/)
  const salted = salt.length > 0 && parts.includes('{salt}')
  return {
    scheme,
    weak: algorithm === 'md5' || algorithm === 'sha1' || !salted,
    verify: async (password) => {
      const h = createHash(algorithm)
      for (const part of parts)
        h.update(part === '{salt}' ? salt : part === '{password}' ? utf8(password) : utf8(part))
      return sameBytes(h.digest(), hash)
    },
  }
}

/**
 * Firebase's modified scrypt (github.com/firebase/scrypt README): key = scrypt(password,
 * salt ‖ separator, N=2^memCost, r=rounds, p=1, 32 bytes); the hash is the signer key
 * encrypted with AES-256-CTR under that key and a zero IV.
 */
function firebaseOutcome(params: FirebaseParams, salt: Buffer, hash: Buffer): Outcome {
  const { signerKey, saltSeparator, rounds, memCost } = params
  const key = typeof signerKey === 'string' ? fromBase64(signerKey) : undefined
  const separator = typeof saltSeparator === 'string' ? fromBase64(saltSeparator) : undefined
  if (!key || key.length === 0 || !separator)
    return malformed('firebase: signerKey or saltSeparator not base64')
  if (!Number.isInteger(memCost) || memCost < 1) return malformed('firebase: memCost')
  const N = 2 ** memCost
  const bad = checkScrypt(N, rounds, 1)
  if (bad) return bad
  if (hash.length !== key.length) return malformed('firebase-scrypt: hash length')
  const fullSalt = Buffer.concat([salt, separator])
  return {
    scheme: 'firebase-scrypt',
    weak: salt.length === 0,
    verify: async (password) => {
      const derived = await scryptKey(utf8(password), fullSalt, N, rounds, 1, 32)
      const aes = createCipheriv('aes-256-ctr', derived, Buffer.alloc(16))
      return sameBytes(Buffer.concat([aes.update(key), aes.final()]), hash)
    },
  }
}
