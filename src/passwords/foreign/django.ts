// Django's `algorithm$…` encodings (django/contrib/auth/hashers.py; 3.2 and, for scrypt, 4.0+).
import { createHash } from 'node:crypto'
import { decimal, fromBase64, fromHex } from './encoding.ts'
import { DIGEST_BYTES, pbkdf2Hash, scryptHash } from './kdf.ts'
import { parseArgon2, parseBcrypt } from './modern.ts'
import { malformed, type Outcome, sameBytes, utf8 } from './outcome.ts'

/** identify_hasher(): the part before the first `$`, and the two unsalted forms. */
export function identifyDjango(stored: string): string | undefined {
  if (/^[0-9a-fA-F]{32}$/.test(stored)) return 'django-unsalted-md5'
  if (!stored.includes('$')) return undefined
  const algorithm = stored.split('$', 1)[0]
  switch (algorithm) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1':
    case 'bcrypt_sha256':
    case 'unsalted_md5':
    case 'unsalted_sha1':
      return `django-${algorithm.replaceAll('_', '-')}`
    case 'bcrypt':
    case 'scrypt':
      return `django-${algorithm}`
    case 'argon2': {
      const variant = stored.split('$')[1] ?? ''
      return ['argon2id', 'argon2i', 'argon2d'].includes(variant)
        ? `django-${variant}`
        : 'django-argon2'
    }
    case 'sha1':
    case 'md5':
      // UnsaltedSHA1PasswordHasher writes `sha1$$hex`, UnsaltedMD5 accepts `md5$$hex`.
      return stored.startsWith(`${algorithm}$$`)
        ? `django-unsalted-${algorithm}`
        : `django-${algorithm}`
    default:
      return undefined
  }
}

export function parseDjango(stored: string, scheme: string): Outcome {
  const parts = stored.split('$')
  switch (scheme) {
    case 'django-pbkdf2-sha256':
    case 'django-pbkdf2-sha1':
      return pbkdf2(parts, scheme)
    case 'django-argon2id':
    case 'django-argon2i':
    case 'django-argon2d':
      // Argon2PasswordHasher: the algorithm name, then argon2-cffi's PHC string.
      return parseArgon2(stored.slice('argon2'.length), scheme)
    case 'django-bcrypt-sha256':
      // BCryptSHA256PasswordHasher: bcrypt over hexlify(sha256(password)), so no 72-byte limit.
      return parseBcrypt(stored.slice('bcrypt_sha256$'.length), scheme, (password) =>
        createHash('sha256').update(password, 'utf8').digest('hex'),
      )
    case 'django-bcrypt':
      return parseBcrypt(stored.slice('bcrypt$'.length), scheme)
    case 'django-scrypt':
      return scrypt(parts, scheme)
    case 'django-argon2':
      return malformed('django argon2: variant')
    default:
      return digest(parts, scheme)
  }
}

/** PBKDF2PasswordHasher: `pbkdf2_sha256$ITER$salt$b64`, dklen the digest's size. */
function pbkdf2(parts: string[], scheme: string): Outcome {
  const [, iterations, salt, b64, ...rest] = parts
  if (b64 === undefined || rest.length > 0)
    return malformed('django pbkdf2: not alg$iter$salt$hash')
  const hash = fromBase64(b64)
  if (!hash) return malformed('django pbkdf2: hash not base64')
  const name = scheme === 'django-pbkdf2-sha1' ? 'sha1' : 'sha256'
  if (hash.length !== DIGEST_BYTES[name]) return malformed('django pbkdf2: hash length')
  return pbkdf2Hash(scheme, name, decimal(iterations), utf8(salt ?? ''), hash)
}

/** ScryptPasswordHasher (Django ≥ 4.0): `scrypt$N$salt$r$p$b64`, hashlib.scrypt dklen=64. */
function scrypt(parts: string[], scheme: string): Outcome {
  const [, N, salt, r, p, b64, ...rest] = parts
  if (b64 === undefined || rest.length > 0)
    return malformed('django scrypt: not scrypt$N$salt$r$p$hash')
  const hash = fromBase64(b64)
  if (!hash) return malformed('django scrypt: hash not base64')
  if (hash.length !== 64) return malformed('django scrypt: hash length')
  return scryptHash(scheme, { N: decimal(N), r: decimal(r), p: decimal(p) }, utf8(salt ?? ''), hash)
}

/**
 * SHA1/MD5PasswordHasher: `sha1$salt$hex(sha1(salt + password))`; the unsalted ones: `sha1$$hex`,
 * `md5$$hex`, a bare md5 hex. Weak, every one.
 */
function digest(parts: string[], scheme: string): Outcome {
  const algorithm = scheme.endsWith('md5') ? 'md5' : 'sha1'
  const [salt, hex] = parts.length === 1 ? ['', parts[0]] : parts.slice(1)
  if (hex === undefined || parts.length > 3) return malformed('django digest: not alg$salt$hash')
  const hash = fromHex(hex)
  if (!hash || hash.length !== DIGEST_BYTES[algorithm])
    return malformed('django digest: hash not hex')
  const saltText = salt ?? ''
  if (scheme.includes('unsalted') && saltText !== '')
    return malformed('django digest: salt in unsalted')
  return {
    scheme,
    weak: true,
    verify: async (password) =>
      sameBytes(
        createHash(algorithm)
          .update(utf8(saltText + password))
          .digest(),
        hash,
      ),
  }
}
