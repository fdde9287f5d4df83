/**
 * Import records from what readPickle returned, for `usersvc import --from-pickle`.
 *
 * Shapes:
 *  - a dict of login → dict (the Flask seeds: `{login: {"hash", "salt", "date"}}`): the login is
 *    the key, unless `--field login=KEY` names a key of the value; a key that is not a string
 *    (readPickle gives a Map then) is an error for that record unless the login is mapped;
 *  - a list (or tuple) of dicts: the login is the first of `login`, `username`, `user` present,
 *    or `--field login=KEY`. `email` is deliberately not a login default (it is mapped to email;
 *    `--field login=email` says so when the store logs in by email).
 * Anything else throws. `index` is the 0-based position (dict insertion order; see readPickle
 * about integer-like keys of a plain object).
 *
 * Fields (our name ← their key; `--field NAME=KEY` overrides, and then only that key is read):
 *   password_hash ← hash | password_hash | password  (a pickle's `password` is taken as a hash:
 *                   these stores kept digests, never plaintext; plaintext is not imported here)
 *   salt          ← salt
 *   registered_at ← date | registered_at | created_at  (a datetime → ISO 8601, or a string)
 *   email ← email, email_verified ← email_verified, role ← role, id ← only when mapped (their
 *   ids are rarely ours).
 *
 * With `--hash SCHEME` every record's password_hash becomes a StructuredDigest; bytes values
 * (a raw digest or salt) are written as hex with the matching encoding. Text values take
 * `--hash-encoding` (hex unless said) and `--salt-encoding` (utf8 unless said, as
 * StructuredDigest's default: the Flask seeds, whose hex salt went through bytes.fromhex, need
 * `--salt-encoding hex`). Without a scheme the hash must be an encoded string (Werkzeug's
 * `pbkdf2:sha256:…`, bcrypt, Django …) and goes through as it is; a salt beside it is then an
 * error for that record, since it would be lost.
 */
import {
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type StructuredDigest,
} from '../passwords/foreign/types.ts'

export interface PickleMapping {
  /** Our field name → their key (from `--field NAME=KEY`). */
  fields?: Record<string, string>
  /** `--hash SCHEME`: the scheme of the whole file. */
  hash?: string
  saltEncoding?: 'hex' | 'base64' | 'utf8'
  hashEncoding?: 'hex' | 'base64'
}

export interface HashSpec {
  algorithm: DigestAlgorithm
  iterations?: number
  template?: string
}

export interface PickleRecord {
  index: number
  record?: Record<string, unknown>
  error?: string
}

/** Our field names that `--field` may map, with the keys looked for when it does not. */
const FIELD_DEFAULTS = {
  login: ['login', 'username', 'user'],
  password_hash: ['hash', 'password_hash', 'password'],
  salt: ['salt'],
  registered_at: ['date', 'registered_at', 'created_at'],
  email: ['email'],
  email_verified: ['email_verified'],
  role: ['role'],
  id: [],
} as const satisfies Record<string, readonly string[]>
type OurField = keyof typeof FIELD_DEFAULTS

const PBKDF2 = new Set<DigestAlgorithm>(['pbkdf2-sha256', 'pbkdf2-sha512'])
const PLAIN = new Set<DigestAlgorithm>(['sha256', 'sha512', 'sha1', 'md5'])
const MAX_ITERATIONS = 100_000_000

/**
 * `--hash SCHEME`: `pbkdf2-sha256:100000`, `pbkdf2-sha512:210000` (iterations required),
 * `sha256`, `sha256:{salt}{password}`, `md5:{password}{salt}` (a template of `{salt}`,
 * `{password}` and literal text, which must hold `{password}`), `firebase-scrypt` (its project
 * parameters come with the import, not the spec).
 */
export function parseHashSpec(spec: string): HashSpec {
  const colon = spec.indexOf(':')
  const name = (colon < 0 ? spec : spec.slice(0, colon)).trim().toLowerCase()
  const param = colon < 0 ? undefined : spec.slice(colon + 1)
  const algorithm = DIGEST_ALGORITHMS.find((a) => a === name)
  if (algorithm === undefined) {
    throw new Error(
      `--hash ${JSON.stringify(spec)}: unknown algorithm ${JSON.stringify(name)} (one of ${DIGEST_ALGORITHMS.join(', ')})`,
    )
  }
  if (PBKDF2.has(algorithm)) {
    if (param === undefined || !/^\d{1,9}$/.test(param.trim())) {
      throw new Error(
        `--hash ${JSON.stringify(spec)}: ${algorithm} needs its iterations, e.g. ${algorithm}:100000`,
      )
    }
    const iterations = Number(param.trim())
    if (iterations < 1 || iterations > MAX_ITERATIONS) {
      throw new Error(`--hash ${JSON.stringify(spec)}: iterations must be 1 to ${MAX_ITERATIONS}`)
    }
    return { algorithm, iterations }
  }
  if (PLAIN.has(algorithm)) {
    if (param === undefined) return { algorithm }
    const placeholders: string[] = param.match(/\{[^}]*\}/g) ?? []
    const unknown = placeholders.find((p) => p !== '{salt}' && p !== '{password}')
    if (unknown !== undefined) {
      throw new Error(
        `--hash ${JSON.stringify(spec)}: unknown placeholder ${unknown} (only {salt} and {password})`,
      )
    }
    if (!placeholders.includes('{password}')) {
      throw new Error(`--hash ${JSON.stringify(spec)}: the template has no {password}`)
    }
    return { algorithm, template: param }
  }
  // firebase-scrypt
  if (param !== undefined) {
    throw new Error(
      `--hash ${JSON.stringify(spec)}: ${algorithm} takes no parameters here (its project parameters come with the import)`,
    )
  }
  return { algorithm }
}

/** A key's value in a dict that readPickle made (a plain object, or a Map for other keys). */
function get(dict: Record<string, unknown> | Map<unknown, unknown>, key: string): unknown {
  if (dict instanceof Map) return dict.get(key)
  return Object.hasOwn(dict, key) ? dict[key] : undefined
}

type Dict = Record<string, unknown> | Map<unknown, unknown>

function isDict(v: unknown): v is Dict {
  if (v instanceof Map) return true
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date) &&
    Object.getPrototypeOf(v) === Object.prototype
  )
}

function describe(v: unknown): string {
  if (v === null) return 'None'
  if (Array.isArray(v)) return 'a list'
  if (v instanceof Uint8Array) return 'bytes'
  if (v instanceof Date) return 'a datetime'
  if (v instanceof Map || isDict(v)) return 'a dict'
  if (typeof v === 'bigint') return 'an int'
  if (typeof v === 'number') return Number.isInteger(v) ? 'an int' : 'a float'
  if (typeof v === 'boolean') return 'a bool'
  if (typeof v === 'string') return 'a str'
  return typeof v
}

export function checkMapping(mapping: PickleMapping): {
  fields: Partial<Record<OurField, string>>
  spec: HashSpec | undefined
} {
  const fields: Partial<Record<OurField, string>> = {}
  for (const [ours, theirs] of Object.entries(mapping.fields ?? {})) {
    if (!Object.hasOwn(FIELD_DEFAULTS, ours)) {
      throw new Error(
        `--field ${ours}=${theirs}: unknown field ${JSON.stringify(ours)} (one of ${Object.keys(FIELD_DEFAULTS).join(', ')})`,
      )
    }
    if (theirs === '') throw new Error(`--field ${ours}=: the key is empty`)
    fields[ours as OurField] = theirs
  }
  return { fields, spec: mapping.hash === undefined ? undefined : parseHashSpec(mapping.hash) }
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/

/** Maps each entry; one that cannot be mapped yields `{index, error}`. Throws for a bad shape. */
export function* pickleRecords(data: unknown, mapping: PickleMapping): Generator<PickleRecord> {
  const { fields, spec } = checkMapping(mapping)
  const entries: Iterable<[unknown, unknown]> | undefined = Array.isArray(data)
    ? data.map((v): [unknown, unknown] => [undefined, v])
    : data instanceof Map
      ? data.entries()
      : isDict(data)
        ? Object.entries(data)
        : undefined
  if (entries === undefined) {
    throw new Error(
      `the pickle holds ${describe(data)}; expected a dict of login → user dict, or a list of user dicts`,
    )
  }
  const keyed = !Array.isArray(data)
  let index = 0
  for (const [key, value] of entries) {
    let result: PickleRecord
    try {
      result = { index, record: mapRecord(key, value, keyed, fields, spec, mapping) }
    } catch (e) {
      if (!(e instanceof RecordError)) throw e
      result = { index, error: e.message }
    }
    yield result
    index++
  }
}

class RecordError extends Error {}

/** The value of our field: the mapped key, or the first default key present (not None). */
function pick(
  dict: Dict,
  field: OurField,
  fields: Partial<Record<OurField, string>>,
): { key: string; value: unknown } | undefined {
  const mapped = fields[field]
  const keys: readonly string[] = mapped === undefined ? FIELD_DEFAULTS[field] : [mapped]
  for (const key of keys) {
    const value = get(dict, key)
    if (value !== undefined && value !== null) return { key, value }
  }
  return undefined
}

function lookedFor(field: OurField, fields: Partial<Record<OurField, string>>): string {
  const mapped = fields[field]
  return mapped === undefined ? FIELD_DEFAULTS[field].join(', ') : mapped
}

function text(found: { key: string; value: unknown }, what: string): string {
  if (typeof found.value !== 'string') {
    throw new RecordError(`${what} (${found.key}) is ${describe(found.value)}, not a str`)
  }
  return found.value
}

function mapRecord(
  key: unknown,
  value: unknown,
  keyed: boolean,
  fields: Partial<Record<OurField, string>>,
  spec: HashSpec | undefined,
  mapping: PickleMapping,
): Record<string, unknown> {
  if (!isDict(value)) throw new RecordError(`the entry is ${describe(value)}, not a dict`)
  const record: Record<string, unknown> = {}

  const loginField = pick(value, 'login', fields)
  let login: string
  if (keyed && fields.login === undefined) {
    if (typeof key !== 'string') {
      throw new RecordError(
        `the key is ${describe(key)}, not a str login (map one with --field login=KEY)`,
      )
    }
    login = key
  } else {
    if (loginField === undefined) {
      throw new RecordError(`no login (looked for ${lookedFor('login', fields)})`)
    }
    login = text(loginField, 'the login')
  }
  if (login.trim() === '') throw new RecordError('the login is empty')
  record.login = login

  const hash = pick(value, 'password_hash', fields)
  if (hash === undefined) {
    throw new RecordError(`no password hash (looked for ${lookedFor('password_hash', fields)})`)
  }
  const salt = pick(value, 'salt', fields)
  if (spec === undefined) {
    if (typeof hash.value !== 'string') {
      throw new RecordError(
        `the hash (${hash.key}) is ${describe(hash.value)}: give its scheme with --hash`,
      )
    }
    if (hash.value === '') throw new RecordError(`the hash (${hash.key}) is empty`)
    if (salt !== undefined) {
      throw new RecordError(
        `a salt (${salt.key}) beside the hash needs --hash SCHEME, or the salt would be lost`,
      )
    }
    record.password_hash = hash.value
  } else {
    record.password_hash = digest(spec, hash, salt, mapping)
  }

  const registered = pick(value, 'registered_at', fields)
  if (registered !== undefined) {
    const at = registered.value
    if (at instanceof Date) record.registered_at = at.toISOString()
    else if (typeof at === 'string') record.registered_at = at
    else {
      throw new RecordError(
        `registered_at (${registered.key}) is ${describe(at)}, not a datetime or str`,
      )
    }
  }
  for (const field of ['email', 'role', 'id'] as const) {
    const found = pick(value, field, fields)
    if (found === undefined) continue
    const v = found.value
    if (field === 'id' && typeof v === 'number' && Number.isSafeInteger(v)) record.id = v
    else record[field] = text(found, field)
  }
  const verified = pick(value, 'email_verified', fields)
  if (verified !== undefined) {
    if (typeof verified.value !== 'boolean') {
      throw new RecordError(
        `email_verified (${verified.key}) is ${describe(verified.value)}, not a bool`,
      )
    }
    record.email_verified = verified.value
  }
  return record
}

function digest(
  spec: HashSpec,
  hash: { key: string; value: unknown },
  salt: { key: string; value: unknown } | undefined,
  mapping: PickleMapping,
): StructuredDigest {
  const out: StructuredDigest = { algorithm: spec.algorithm, hash: '' }
  if (spec.iterations !== undefined) out.iterations = spec.iterations
  if (spec.template !== undefined) out.template = spec.template

  if (hash.value instanceof Uint8Array) {
    if (hash.value.length === 0) throw new RecordError(`the hash (${hash.key}) is empty`)
    out.hash = Buffer.from(hash.value).toString('hex')
    out.encoding = 'hex'
  } else if (typeof hash.value === 'string') {
    const encoding = mapping.hashEncoding ?? 'hex'
    const h = hash.value.trim()
    if (h === '') throw new RecordError(`the hash (${hash.key}) is empty`)
    if (!(encoding === 'hex' ? HEX : BASE64).test(h)) {
      throw new RecordError(`the hash (${hash.key}) is not ${encoding}`)
    }
    out.hash = h
    out.encoding = encoding
  } else {
    throw new RecordError(`the hash (${hash.key}) is ${describe(hash.value)}, not a str or bytes`)
  }

  if (salt !== undefined) {
    if (salt.value instanceof Uint8Array) {
      out.salt = Buffer.from(salt.value).toString('hex')
      out.salt_encoding = 'hex'
    } else if (typeof salt.value === 'string') {
      const encoding = mapping.saltEncoding ?? 'utf8'
      if (encoding === 'hex' && !HEX.test(salt.value)) {
        throw new RecordError(`the salt (${salt.key}) is not hex`)
      }
      if (encoding === 'base64' && !BASE64.test(salt.value)) {
        throw new RecordError(`the salt (${salt.key}) is not base64`)
      }
      out.salt = salt.value
      out.salt_encoding = encoding
    } else {
      throw new RecordError(`the salt (${salt.key}) is ${describe(salt.value)}, not a str or bytes`)
    }
  }
  const saltless = out.salt === undefined || out.salt === ''
  if (saltless && (PBKDF2.has(spec.algorithm) || spec.algorithm === 'firebase-scrypt')) {
    throw new RecordError(`no salt for ${spec.algorithm}`)
  }
  if (saltless && spec.template?.includes('{salt}')) {
    throw new RecordError(`no salt for the template ${spec.template}`)
  }
  return out
}
