import { v7 as uuidv7 } from 'uuid'
import type { Clock } from '../clock.ts'
import { isUniqueViolationOf } from '../db/errors.ts'
import type { Db } from '../db/schema.ts'
import { AppError, type FieldError } from '../errors.ts'
import type { Language } from '../outbox/mail.ts'
import type { Hasher } from '../passwords/hasher.ts'
import { normalisePassword, type PasswordPolicy } from '../passwords/policy.ts'
import type { Throttle } from '../throttle/throttle.ts'
import { checkEmail } from './email-address.ts'
import { type EmailOptions, mailVerificationCode } from './email-verification.ts'
import { checkLogin } from './login-name.ts'
import { userRepository } from './repository.ts'
import type { Role, User } from './types.ts'

export interface UserServiceOptions {
  db: Db
  clock: Clock
  hasher: Hasher
  policy: PasswordPolicy
  throttle: Throttle
  email: EmailOptions
}

export interface Registration {
  /** The client's, for the per-address registration limit (none from the command line). */
  address?: string
  /** An address to verify, or null/absent for none (EMAIL_REQUIRED=on needs one). */
  email?: string | null
  /** The language of the verification mail. */
  language?: Language
}

/** A unique violation of the login or the address → its 409. */
export function takenError(error: unknown): AppError | undefined {
  if (isUniqueViolationOf(error, 'email_key')) return new AppError('email_taken')
  if (isUniqueViolationOf(error, 'login_key')) return new AppError('login_taken')
  return undefined
}

/** Who is asking: the authenticated caller. */
export interface Actor {
  id: string
  role: Role
}

export const noSuchUser = () => new AppError('not_found', { detail: 'No such user.' })

/** 403 account_disabled, once the proof was right (a wrong one still gets the ordinary 401). */
export const accountDisabled = () =>
  new AppError('account_disabled', { detail: 'An admin has disabled this account.' })

/** Only password rules failed → password_policy; anything else → validation_failed (with all). */
export function rejected(errors: FieldError[]): AppError {
  const code = errors.every((e) => e.field.endsWith('password'))
    ? 'password_policy'
    : 'validation_failed'
  return new AppError(code, { errors })
}

/** Accounts: creating them and reading them. */
export function createUserService(options: UserServiceOptions) {
  const { db, clock, hasher, policy, throttle, email: emailOptions } = options
  const users = userRepository(db)

  return {
    /**
     * Every login, password and address rule `login`, `password` and `email` break (whichever
     * are strings; a missing address only when one is required).
     */
    registrationErrors(
      login: unknown,
      password: unknown,
      email?: unknown,
    ): { key?: string; email?: { address: string; key: string }; errors: FieldError[] } {
      const errors: FieldError[] = []
      let key: string | undefined
      if (typeof login === 'string') {
        const checked = checkLogin(login)
        if (checked.ok) key = checked.key
        else errors.push(...checked.errors)
      }
      if (typeof password === 'string') errors.push(...policy.check(password, 'password', key))
      let address: { address: string; key: string } | undefined
      if (typeof email === 'string') {
        const checked = checkEmail(email)
        if (checked.ok) address = { address: checked.address, key: checked.key }
        else errors.push(...checked.errors)
      } else if ((email === undefined || email === null) && emailOptions.required) {
        errors.push({ field: 'email', code: 'required', message: 'is required' })
      }
      return { key, email: address, errors }
    },

    /** A 422 naming every failed rule: the schema's and, where it can tell, the policy's. */
    rejectRegistration(body: unknown, schemaErrors: FieldError[]): AppError {
      const { login, password, email } = (
        typeof body === 'object' && body !== null ? body : {}
      ) as Record<string, unknown>
      const errors = [...schemaErrors]
      for (const error of this.registrationErrors(login, password, email).errors) {
        if (!errors.some((e) => e.field === error.field && e.code === error.code))
          errors.push(error)
      }
      return rejected(errors)
    },

    /**
     * A new account; with an address, its verification code is issued and its mail recorded in
     * the same transaction.
     */
    async register(
      login: string,
      password: string,
      role: Role = 'user',
      registration: Registration = {},
    ): Promise<User> {
      const { address } = registration
      if (address !== undefined) await throttle.registration(address)
      hasher.admission.assertAdmits()
      const checked = this.registrationErrors(login, password, registration.email)
      const { key, email } = checked
      if (!key || checked.errors.length > 0) throw rejected(checked.errors)
      // Spare the hash when the login or address is plainly taken; the UNIQUE indexes still
      // settle races.
      if (await users.existsByKey(key)) throw new AppError('login_taken')
      if (email && (await users.existsByEmailKey(email.key))) throw new AppError('email_taken')
      const passwordHash = await hasher.hash(normalisePassword(password))
      try {
        return await db.transaction().execute(async (trx) => {
          const now = clock.now()
          const user = await userRepository(trx).insert({
            id: uuidv7(),
            login,
            loginKey: key,
            passwordHash,
            role,
            now,
            email,
          })
          const data = { login: user.login, email: user.email }
          await emailOptions.events(trx, {
            type: 'user.registered',
            userId: user.id,
            at: now,
            data,
          })
          if (email) {
            const language = registration.language ?? 'en'
            await mailVerificationCode(trx, emailOptions, user, email.address, language, now)
          }
          return user
        })
      } catch (error) {
        throw takenError(error) ?? error
      }
    },

    /** The user itself or an admin sees it; anyone else gets the same 404 as for no such user. */
    async get(actor: Actor, id: string): Promise<User> {
      const found = actor.id === id || actor.role === 'admin' ? await users.findById(id) : undefined
      if (!found) throw noSuchUser()
      return found
    },

    async list(actor: Actor, after: string | undefined, limit: number) {
      if (actor.role !== 'admin')
        throw new AppError('forbidden', { detail: 'Only an admin may list users.' })
      // One extra row tells whether there is a next page.
      const rows = await users.list(after, limit + 1)
      const items = rows.slice(0, limit)
      const last = items.at(-1)
      return { items, next: rows.length > limit && last ? last.id : undefined }
    },
  }
}

export type UserService = ReturnType<typeof createUserService>
