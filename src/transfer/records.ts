import { parseImportedHash } from '../passwords/foreign/index.ts'
import type { ImportHashOptions } from '../passwords/foreign/types.ts'
import type { PasswordPolicy } from '../passwords/policy.ts'
import { isUuid } from '../text.ts'
import { checkEmail } from '../users/email-address.ts'
import { checkLogin } from '../users/login-name.ts'
import { ROLES, type Role } from '../users/types.ts'

/** One user as an import file or request gives it (the contract). */
export const RECORD_FIELDS = [
  'login',
  'password',
  'password_hash',
  'email',
  'email_verified',
  'registered_at',
  'role',
  'id',
] as const

/** A record that can be written: everything checked, the hash as the users row keeps it. */
export interface CheckedRecord {
  id?: string
  login: string
  loginKey: string
  email?: { address: string; key: string }
  emailVerified: boolean
  registeredAt?: Date
  role: Role
  /** Plaintext to hash with argon2id (NFKC, as registration), or a hash ready to store. */
  secret: { password: string } | { hash: string; scheme: string; weak: boolean }
}

/** A refusal: a short code (the report's `reason`) and what exactly is wrong (never a secret). */
export interface Refusal {
  reason: string
  detail?: string
}

export type Checked = { ok: true; record: CheckedRecord } | ({ ok: false } & Refusal)

export interface CheckOptions extends ImportHashOptions {
  policy: PasswordPolicy
}

const refuse = (reason: string, detail?: string): Checked => ({
  ok: false,
  reason,
  ...(detail ? { detail } : {}),
})

/**
 * Checks one record by the rules registration uses for what is known (the login, the address and
 * a plaintext password), and by its own scheme for a hash. An imported hash is not held to
 * today's password policy: the password it hides is unknown.
 */
export function checkRecord(raw: unknown, options: CheckOptions): Checked {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return refuse('not_an_object', 'a record is a JSON object')
  }
  const r = raw as Record<string, unknown>
  const unknown = Object.keys(r).filter((k) => !(RECORD_FIELDS as readonly string[]).includes(k))
  if (unknown.length > 0) return refuse('unknown_field', `${unknown.join(', ')}`)

  if (typeof r.login !== 'string') return refuse('invalid_login', 'login is required, a string')
  const login = checkLogin(r.login)
  if (!login.ok) return refuse('invalid_login', `${login.errors.map((e) => e.message).join('; ')}`)

  let email: CheckedRecord['email']
  if (r.email !== undefined && r.email !== null && r.email !== '') {
    if (typeof r.email !== 'string') return refuse('invalid_email', 'email must be a string')
    const checked = checkEmail(r.email)
    if (!checked.ok) {
      return refuse('invalid_email', `${checked.errors.map((e) => e.message).join('; ')}`)
    }
    email = { address: checked.address, key: checked.key }
  }
  const verified = r.email_verified ?? false
  if (typeof verified !== 'boolean') return refuse('invalid_field', 'email_verified is a boolean')
  if (verified && !email) return refuse('invalid_field', 'email_verified without an email')

  let registeredAt: Date | undefined
  if (r.registered_at !== undefined && r.registered_at !== null) {
    registeredAt = typeof r.registered_at === 'string' ? new Date(r.registered_at) : undefined
    if (!registeredAt || Number.isNaN(registeredAt.getTime())) {
      return refuse('invalid_field', 'registered_at is an ISO 8601 date-time')
    }
  }
  const role = r.role ?? 'user'
  if (!(ROLES as readonly unknown[]).includes(role)) {
    return refuse('invalid_field', `role is one of ${ROLES.join(', ')}`)
  }
  if (r.id !== undefined && !isUuid(r.id)) return refuse('invalid_field', 'id is a UUID')

  const hasPassword = r.password !== undefined
  const hasHash = r.password_hash !== undefined
  if (hasPassword === hasHash) {
    return refuse('missing_password', 'give exactly one of password and password_hash')
  }
  let secret: CheckedRecord['secret']
  if (hasPassword) {
    if (typeof r.password !== 'string') return refuse('invalid_field', 'password is a string')
    const errors = options.policy.check(r.password, 'password', login.key)
    if (errors.length > 0) {
      return refuse('password_policy', `${errors.map((e) => e.message).join('; ')}`)
    }
    secret = { password: r.password }
  } else {
    const parsed = parseImportedHash(r.password_hash, options)
    if (!parsed.ok) return refuse(parsed.reason, parsed.detail)
    secret = { hash: parsed.stored, scheme: parsed.scheme, weak: parsed.weak }
  }
  return {
    ok: true,
    record: {
      ...(r.id === undefined ? {} : { id: (r.id as string).toLowerCase() }),
      login: r.login,
      loginKey: login.key,
      ...(email ? { email } : {}),
      emailVerified: verified,
      ...(registeredAt ? { registeredAt } : {}),
      role: role as Role,
      secret,
    },
  }
}
