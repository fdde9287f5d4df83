import { v7 as uuidv7 } from 'uuid'
import type { Clock } from '../clock.ts'
import { isUniqueViolation } from '../db/errors.ts'
import type { Db } from '../db/schema.ts'
import { AppError, type FieldError } from '../errors.ts'
import type { Hasher } from '../passwords/hasher.ts'
import { normalisePassword, type PasswordPolicy } from '../passwords/policy.ts'
import type { Throttle } from '../throttle/throttle.ts'
import { checkLogin } from './login-name.ts'
import { userRepository } from './repository.ts'
import type { Role, User } from './types.ts'

export interface UserServiceOptions {
  db: Db
  clock: Clock
  hasher: Hasher
  policy: PasswordPolicy
  throttle: Throttle
}

/** Who is asking: the authenticated caller. */
export interface Actor {
  id: string
  role: Role
}

export const noSuchUser = () => new AppError('not_found', { detail: 'No such user.' })

/** Only password rules failed → password_policy; anything else → validation_failed (with all). */
export function rejected(errors: FieldError[]): AppError {
  const code = errors.every((e) => e.field.endsWith('password'))
    ? 'password_policy'
    : 'validation_failed'
  return new AppError(code, { errors })
}

/** Accounts: creating them, reading them, and an admin deleting them. */
export function createUserService({ db, clock, hasher, policy, throttle }: UserServiceOptions) {
  const users = userRepository(db)

  return {
    /** Every login and password rule `login` and `password` break (whichever are strings). */
    registrationErrors(login: unknown, password: unknown): { key?: string; errors: FieldError[] } {
      const errors: FieldError[] = []
      let key: string | undefined
      if (typeof login === 'string') {
        const checked = checkLogin(login)
        if (checked.ok) key = checked.key
        else errors.push(...checked.errors)
      }
      if (typeof password === 'string') errors.push(...policy.check(password, 'password', key))
      return { key, errors }
    },

    /** A 422 naming every failed rule: the schema's and, where it can tell, the policy's. */
    rejectRegistration(body: unknown, schemaErrors: FieldError[]): AppError {
      const { login, password } = (typeof body === 'object' && body !== null ? body : {}) as Record<
        string,
        unknown
      >
      const errors = [...schemaErrors]
      for (const error of this.registrationErrors(login, password).errors) {
        if (!errors.some((e) => e.field === error.field && e.code === error.code))
          errors.push(error)
      }
      return rejected(errors)
    },

    /** `address` is the client's, for the per-address registration limit (none from the CLI). */
    async register(
      login: string,
      password: string,
      role: Role = 'user',
      address?: string,
    ): Promise<User> {
      if (address !== undefined) await throttle.registration(address)
      hasher.admission.assertAdmits()
      const { key, errors } = this.registrationErrors(login, password)
      if (!key || errors.length > 0) throw rejected(errors)
      // Spare the hash when the login is plainly taken; the UNIQUE index still settles races.
      if (await users.existsByKey(key)) throw new AppError('login_taken')
      const passwordHash = await hasher.hash(normalisePassword(password))
      try {
        return await users.insert({
          id: uuidv7(),
          login,
          loginKey: key,
          passwordHash,
          role,
          now: clock.now(),
        })
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError('login_taken')
        throw error
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

    /**
     * An admin deletes another account. Nobody deletes their own by id: that is
     * DELETE /user/me, confirmed by the password (authn/credentials.ts). Others' ids get the
     * same 404 as ids that do not exist.
     */
    async remove(actor: Actor, id: string): Promise<void> {
      if (actor.id === id) {
        throw new AppError('forbidden', {
          detail: 'Delete your own account with DELETE /user/me, confirmed by your password.',
        })
      }
      if (actor.role !== 'admin' || !(await users.remove(id))) throw noSuchUser()
    },
  }
}

export type UserService = ReturnType<typeof createUserService>
