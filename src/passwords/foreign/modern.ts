// The schemes whose libraries we link: PHC argon2 and bcrypt. Both verify on libuv's pool.
import { verify as argon2Verify } from '@node-rs/argon2'
import { verify as bcryptVerify } from '@node-rs/bcrypt'
import { decimal, fromBase64 } from './encoding.ts'
import { MAX_ARGON2, MAX_BCRYPT_COST } from './kdf.ts'
import { malformed, type Outcome, refuse } from './outcome.ts'

// The PHC string format (github.com/P-H-C/phc-string-format) as argon2's reference code writes it:
// `$argon2id$v=19$m=…,t=…,p=…$salt$hash`, unpadded base64; v= is absent in pre-1.3 hashes.
const PHC_ARGON2 =
  /^\$(argon2id|argon2i|argon2d)\$(?:v=(\d+)\$)?m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]*)\$([A-Za-z0-9+/]*)$/

export function parseArgon2(phc: string, scheme?: string): Outcome {
  const m = PHC_ARGON2.exec(phc)
  if (!m) return malformed('argon2: not m=,t=,p=$salt$hash')
  const [, variant, version, mem, time, lanes, salt = '', hash = ''] = m
  if (version !== undefined && version !== '16' && version !== '19')
    return malformed('argon2: version')
  const [memoryKiB, timeCost, parallelism] = [decimal(mem), decimal(time), decimal(lanes)]
  // Argon2 RFC 9106 section 3.1: p ≥ 1, t ≥ 1, m ≥ 8·p KiB; salt ≥ 8 bytes, tag ≥ 4 bytes.
  if (!(parallelism >= 1 && timeCost >= 1 && memoryKiB >= 8 * parallelism))
    return malformed('argon2: parameters')
  if (
    memoryKiB > MAX_ARGON2.memoryKiB ||
    timeCost > MAX_ARGON2.time ||
    parallelism > MAX_ARGON2.parallelism
  )
    return refuse('unsafe_cost', 'argon2 parameters')
  const saltBytes = fromBase64(salt)
  const tag = fromBase64(hash)
  if (!saltBytes || saltBytes.length < 8 || !tag || tag.length < 4)
    return malformed('argon2: salt or hash')
  return {
    scheme: scheme ?? (variant as string),
    weak: false,
    verify: (password) => argon2Verify(phc, password),
  }
}

// Provos & Mazières' modular crypt form as OpenBSD writes it: $2b$NN$ then 22 salt and 31 hash
// characters of bcrypt's own base64. $2a$ and $2y$ name the same algorithm (PHP's crypt_blowfish
// docs); @node-rs/bcrypt 1.10.8 verifies all three (tested).
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/

/** `prepare` turns the typed password into what bcrypt saw (Django's bcrypt_sha256 pre-hash). */
export function parseBcrypt(
  mcf: string,
  scheme = 'bcrypt',
  prepare: (password: string) => string = (p) => p,
): Outcome {
  const m = BCRYPT.exec(mcf)
  if (!m) return malformed('bcrypt: not $2b$NN$ and 53 characters')
  const cost = decimal(m[1])
  if (cost < 4 || cost > 31) return malformed('bcrypt: cost outside 4..31')
  if (cost > MAX_BCRYPT_COST) return refuse('unsafe_cost', 'bcrypt cost')
  return { scheme, weak: false, verify: (password) => bcryptVerify(prepare(password), mcf) }
}
