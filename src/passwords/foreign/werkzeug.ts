// Werkzeug's `method$salt$hash` (werkzeug/security.py, _hash_internal and check_password_hash):
// the salt is text used as its UTF-8 bytes, the hash lower-case hex.
import { decimal, fromHex } from './encoding.ts'
import { DIGEST_BYTES, type Pbkdf2Digest, pbkdf2Hash, scryptHash } from './kdf.ts'
import { malformed, type Outcome, utf8 } from './outcome.ts'

export function identifyWerkzeug(stored: string): string | undefined {
  if (!stored.includes('$')) return undefined
  const method = stored.split('$', 1)[0] ?? ''
  if (method === 'pbkdf2' || method.startsWith('pbkdf2:')) {
    const digest = method.split(':')[1] ?? 'sha256'
    return `werkzeug-pbkdf2-${digest}`
  }
  // Plain `scrypt$salt$hash` has three parts; Django's `scrypt$N$salt$r$p$hash` has six.
  if (method.startsWith('scrypt:') || (method === 'scrypt' && stored.split('$').length === 3))
    return 'werkzeug-scrypt'
  return undefined
}

export function parseWerkzeug(stored: string, scheme: string): Outcome {
  const [method = '', salt, hex, ...rest] = stored.split('$')
  if (hex === undefined || rest.length > 0) return malformed('werkzeug: not method$salt$hash')
  const hash = fromHex(hex)
  if (!hash) return malformed('werkzeug: hash not hex')
  const [kind, ...args] = method.split(':')
  return kind === 'scrypt'
    ? scrypt(args, utf8(salt ?? ''), hash, scheme)
    : pbkdf2(args, utf8(salt ?? ''), hash, scheme)
}

function pbkdf2(args: string[], salt: Buffer, hash: Buffer, scheme: string): Outcome {
  const [digest = 'sha256', iterations, ...rest] = args
  if (rest.length > 0) return malformed('werkzeug pbkdf2: too many arguments')
  if (digest !== 'sha1' && digest !== 'sha256' && digest !== 'sha512')
    return malformed('werkzeug pbkdf2: unsupported digest')
  // Without a count Werkzeug uses its DEFAULT_PBKDF2_ITERATIONS of the day, which was 1000 in
  // 0.9, 150000 in 0.15, 260000 in 2.0, 600000 in 2.3 and 1000000 in 3.1 (git log -S of
  // src/werkzeug/security.py): the count such a hash was made with cannot be known.
  if (iterations === undefined || iterations === '')
    return malformed('werkzeug pbkdf2: no iteration count')
  if (hash.length !== DIGEST_BYTES[digest as Pbkdf2Digest])
    return malformed('werkzeug pbkdf2: hash length')
  return pbkdf2Hash(scheme, digest, decimal(iterations), salt, hash)
}

/**
 * hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=132·n·r·p): dklen is hashlib's 64.
 * A bare `scrypt` means n=2**15, r=8, p=1, unchanged since scrypt came in Werkzeug 2.3.
 */
function scrypt(args: string[], salt: Buffer, hash: Buffer, scheme: string): Outcome {
  if (args.length !== 0 && args.length !== 3) return malformed('werkzeug scrypt: takes 3 arguments')
  const [N, r, p] = args.length === 0 ? [2 ** 15, 8, 1] : args.map(decimal)
  if (hash.length !== 64) return malformed('werkzeug scrypt: hash length')
  return scryptHash(
    scheme,
    { N: N ?? Number.NaN, r: r ?? Number.NaN, p: p ?? Number.NaN },
    salt,
    hash,
  )
}
