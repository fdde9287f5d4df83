/**
 * A hand-rolled salted digest, as an import record gives it (the contract):
 * `{"algorithm","salt","hash","iterations"?,"encoding"?,"salt_encoding"?,"template"?}`.
 * Also `firebase-scrypt`, whose per-project parameters come once per import (FirebaseParams).
 */
export interface StructuredDigest {
  algorithm: DigestAlgorithm
  salt?: string
  hash: string
  iterations?: number
  /** How `hash` is written; hex unless said. */
  encoding?: 'hex' | 'base64'
  /** How `salt` becomes bytes; utf8 (the text as it is) unless said. */
  salt_encoding?: 'hex' | 'base64' | 'utf8'
  /** Where salt and password go for the plain digests; `{salt}{password}` unless said. */
  template?: string
}

export const DIGEST_ALGORITHMS = [
  'sha256',
  'sha512',
  'sha1',
  'md5',
  'pbkdf2-sha256',
  'pbkdf2-sha512',
  'firebase-scrypt',
] as const
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number]

/** Firebase's project hash config (`firebase auth:export` prints it), given once per import. */
export interface FirebaseParams {
  /** base64 */
  signerKey: string
  /** base64 */
  saltSeparator: string
  rounds: number
  memCost: number
}

export interface ImportHashOptions {
  /** Accept unsalted hashes and MD5/SHA-1 digests. */
  allowWeak?: boolean
  firebase?: FirebaseParams
}

/** Why a hash was refused: the reason an import report shows. */
export type HashRefusal =
  | 'unknown_hash' // no scheme recognises it
  | 'malformed_hash' // a scheme recognises it, but a part is missing or badly encoded
  | 'weak_hash' // unsalted, or an MD5/SHA-1 digest, without allowWeak
  | 'unsafe_cost' // a cost so high a login would tie up a hash thread (or its memory)
  | 'firebase_params_missing'
  | 'unusable_password' // Django's `!…`: the account has no password to bring along

export type ParsedHash =
  | {
      ok: true
      /** What the users row keeps, and what verifyForeign/schemeOf read back. */
      stored: string
      /** A short stable name for metrics and reports: 'bcrypt', 'django-pbkdf2-sha256', … */
      scheme: string
      weak: boolean
    }
  | { ok: false; reason: HashRefusal; detail?: string }
