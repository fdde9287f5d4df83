// Password hashes as other systems write them, built here for the import benchmark with
// node:crypto and @node-rs/bcrypt (test/passwords proves each format against the real library),
// and each scheme's verify alone: the raw reference of a first login.
import { pbkdf2, randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { hash as bcryptHash, verify as bcryptVerify } from '@node-rs/bcrypt'

const pbkdf2Async = promisify(pbkdf2)

export interface ForeignScheme {
  /** A short name for the report: 'bcrypt-10', 'werkzeug-260000', … */
  name: string
  /** Where such hashes come from. */
  origin: string
  /** The stored string for `password`, as that system writes it (a fresh salt each call). */
  make(password: string): Promise<string>
  /** The scheme's verify alone, as the service runs it (node:crypto or @node-rs/bcrypt). */
  verify(stored: string, password: string): Promise<boolean>
}

const saltText = () => randomBytes(12).toString('base64url').slice(0, 16)
const ab64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '').replaceAll('+', '.')

function bcrypt(cost: number, origin: string): ForeignScheme {
  return {
    name: `bcrypt-${cost}`,
    origin,
    make: (password) => bcryptHash(password, cost),
    verify: (stored, password) => bcryptVerify(password, stored),
  }
}

/** PBKDF2-HMAC-SHA256 with dklen 32, written by `write(iterations, salt, key)`. */
function pbkdf2Sha256(
  name: string,
  origin: string,
  iterations: number,
  salt: () => Buffer,
  write: (salt: Buffer, key: Buffer) => string,
  read: (stored: string) => { salt: Buffer; key: Buffer },
): ForeignScheme {
  return {
    name,
    origin,
    async make(password) {
      const s = salt()
      return write(s, await pbkdf2Async(password, s, iterations, 32, 'sha256'))
    },
    async verify(stored, password) {
      const { salt: s, key } = read(stored)
      return (await pbkdf2Async(password, s, iterations, 32, 'sha256')).equals(key)
    },
  }
}

// Werkzeug: `pbkdf2:sha256:ITER$salt$hex`, the salt text used as its UTF-8 bytes.
const werkzeug = (iterations: number, origin: string) =>
  pbkdf2Sha256(
    `werkzeug-${iterations}`,
    origin,
    iterations,
    () => Buffer.from(saltText()),
    (salt, key) => `pbkdf2:sha256:${iterations}$${salt}$${key.toString('hex')}`,
    (stored) => {
      const [, salt = '', hex = ''] = stored.split('$')
      return { salt: Buffer.from(salt), key: Buffer.from(hex, 'hex') }
    },
  )

// Django: `pbkdf2_sha256$ITER$salt$base64`, the salt text used as its UTF-8 bytes.
const django = (iterations: number, origin: string) =>
  pbkdf2Sha256(
    `django-${iterations}`,
    origin,
    iterations,
    () => Buffer.from(saltText()),
    (salt, key) => `pbkdf2_sha256$${iterations}$${salt}$${key.toString('base64')}`,
    (stored) => {
      const [, , salt = '', b64 = ''] = stored.split('$')
      return { salt: Buffer.from(salt), key: Buffer.from(b64, 'base64') }
    },
  )

// passlib: `$pbkdf2-sha256$ROUNDS$ab64salt$ab64hash`, 16 raw salt bytes.
const passlib = (rounds: number, origin: string) =>
  pbkdf2Sha256(
    `passlib-${rounds}`,
    origin,
    rounds,
    () => randomBytes(16),
    (salt, key) => `$pbkdf2-sha256$${rounds}$${ab64(salt)}$${ab64(key)}`,
    (stored) => {
      const [, , , salt = '', key = ''] = stored.split('$')
      const bytes = (text: string) => Buffer.from(text.replaceAll('.', '+'), 'base64')
      return { salt: bytes(salt), key: bytes(key) }
    },
  )

/** The schemes whose first logins the benchmark measures: each system's shipped defaults. */
export const FIRST_LOGIN_SCHEMES: ForeignScheme[] = [
  bcrypt(10, 'Rails / Devise, cost 10'),
  bcrypt(12, 'Rails / Devise, cost 12'),
  werkzeug(260_000, 'Werkzeug 2.0–2.2 default'),
  werkzeug(600_000, 'Werkzeug 2.3–3.0 default'),
  django(260_000, 'Django 3.2 default'),
  django(600_000, 'Django 4.2 default'),
  django(870_000, 'Django 5.1 default (5.0: 720000)'),
  passlib(29_000, 'passlib 1.7 pbkdf2_sha256 default'),
]

/** The hashes an import file carries, one string per scheme, reused: parsing is measured, not hashing. */
export const IMPORT_MIX: { scheme: ForeignScheme; share: number }[] = [
  { scheme: bcrypt(10, ''), share: 0.6 },
  { scheme: werkzeug(600_000, ''), share: 0.15 },
  { scheme: django(870_000, ''), share: 0.15 },
  { scheme: passlib(29_000, ''), share: 0.1 },
]
