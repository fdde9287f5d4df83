// passlib 1.7.4's own formats (passlib/handlers/pbkdf2.py, passlib/handlers/scrypt.py).
import { decimal, fromAb64 } from './encoding.ts'
import { DIGEST_BYTES, type Pbkdf2Digest, pbkdf2Hash, scryptHash } from './kdf.ts'
import { malformed, type Outcome } from './outcome.ts'

// create_pbkdf2_hash(): the ident names the digest, checksum_size is the digest's size.
const PBKDF2_IDENTS: Record<string, Pbkdf2Digest> = {
  $pbkdf2$: 'sha1',
  '$pbkdf2-sha256$': 'sha256',
  '$pbkdf2-sha512$': 'sha512',
}

export function identifyPasslib(stored: string): string | undefined {
  if (stored.startsWith('$scrypt$')) return 'passlib-scrypt'
  for (const [ident, digest] of Object.entries(PBKDF2_IDENTS))
    if (stored.startsWith(ident)) return `passlib-pbkdf2-${digest}`
  return undefined
}

export function parsePasslib(stored: string, scheme: string): Outcome {
  return scheme === 'passlib-scrypt' ? parseScrypt(stored, scheme) : parsePbkdf2(stored, scheme)
}

/** `$pbkdf2-sha256$ROUNDS$salt$checksum`, salt and checksum in ab64 (raw salt bytes). */
function parsePbkdf2(stored: string, scheme: string): Outcome {
  const digest = scheme.slice('passlib-pbkdf2-'.length) as Pbkdf2Digest
  const [, , rounds, salt, checksum, ...rest] = stored.split('$')
  if (checksum === undefined || rest.length > 0)
    return malformed('passlib: not $ident$rounds$salt$hash')
  const saltBytes = fromAb64(salt ?? '')
  const hash = fromAb64(checksum)
  if (!saltBytes || !hash) return malformed('passlib: salt or hash not ab64')
  if (hash.length !== DIGEST_BYTES[digest]) return malformed('passlib: hash length')
  return pbkdf2Hash(scheme, digest, decimal(rounds), saltBytes, hash)
}

/**
 * `$scrypt$ln=LOG2N,r=R,p=P$salt$checksum`: _parse_scrypt_string(); to_string() writes salt and
 * checksum with b64s_encode (standard alphabet, unpadded), which ab64 also reads. checksum_size 32.
 */
function parseScrypt(stored: string, scheme: string): Outcome {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]*)\$([^$]*)$/.exec(stored)
  if (!m) return malformed('passlib scrypt: not $scrypt$ln=,r=,p=$salt$hash')
  const [, ln, r, p, salt = '', checksum = ''] = m
  const saltBytes = fromAb64(salt)
  const hash = fromAb64(checksum)
  if (!saltBytes || !hash) return malformed('passlib scrypt: salt or hash not base64')
  if (hash.length !== 32) return malformed('passlib scrypt: hash length')
  const logN = decimal(ln)
  if (!(logN >= 1)) return malformed('passlib scrypt: ln')
  return scryptHash(scheme, { N: 2 ** logN, r: decimal(r), p: decimal(p) }, saltBytes, hash)
}
