import { v7 as uuidv7 } from 'uuid'
import type { Clock } from '../clock.ts'
import { isUniqueViolation } from '../db/errors.ts'
import type { Db } from '../db/schema.ts'
import { AppError, type FieldError } from '../errors.ts'
import type { Hasher } from '../passwords/hasher.ts'
import { normalisePassword, type PasswordPolicy } from '../passwords/policy.ts'
import { refreshTokenRepository } from '../sessions/repository.ts'
import type { Throttle } from '../throttle/throttle.ts'
import type { Role } from '../tokens/access.ts'
import { checkLogin } from './login.ts'
import { type User, userRepository, withoutHash } from './repository.ts'

export interface UserServiceOptions {
  db: Db
  clock: Clock
  hasher: Hasher
  policy: PasswordPolicy
  throttle: Throttle
}

export interface Actor {
  id: string
  role: Role
}

export const noSuchUser = () => new AppError('not_found', { detail: 'No such user.' })

function rejected(errors: FieldError[]): AppError {
  // Only password rules failed → password_policy; anything else → validation_failed (with all).
  const code = errors.every((e) => e.field.endsWith('password'))
    ? 'password_policy'
    : 'validation_failed'
  return new AppError(code, { errors })
}

export function createUserService({ db, clock, hasher, policy, throttle }: UserServiceOptions) {
  const users = userRepository(db)

  /**
   * The caller's own record, once `password` proves it is the holder. A stolen access token must
   * not become a way to guess the password: wrong ones count as failed logins of the account.
   */
  async function confirmPassword(actor: Actor, password: string, address: string, wrong: string) {
    const found = await users.findById(actor.id)
    if (!found) throw noSuchUser()
    const ok = await throttle.guard(accountKey(found.login) ?? found.id, address, () =>
      hasher.verify(found.passwordHash, normalisePassword(password)),
    )
    if (!ok) throw new AppError('invalid_credentials', { detail: wrong })
    return found
  }

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
      hasher.limiter.assertAdmits()
      const { key, errors } = this.registrationErrors(login, password)
      if (!key || errors.length > 0) throw rejected(errors)
      // Spare the hash when the login is plainly taken; the UNIQUE index still settles races.
      if (await users.findByKey(key)) throw new AppError('login_taken')
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
      return withoutHash(found)
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

    /** Changing the password ends every session: all refresh tokens of the user are revoked. */
    async changePassword(
      actor: Actor,
      current: string,
      next: string,
      address: string,
    ): Promise<void> {
      const found = await confirmPassword(actor, current, address, 'The current password is wrong.')
      const errors = policy.check(next, 'new_password', accountKey(found.login))
      if (errors.length > 0) throw rejected(errors)
      const passwordHash = await hasher.hash(normalisePassword(next))
      await db.transaction().execute(async (trx) => {
        const locked = userRepository(trx)
        // Still the password that was checked (no other change came between), and locked: a
        // refresh or login in progress finishes first, and its tokens are ended below.
        if (!(await locked.hold(found.id, found.passwordChangedAt))) {
          throw new AppError('invalid_credentials', { detail: 'The current password is wrong.' })
        }
        // Always after the password it replaces, even if this clock runs behind another's.
        const now = new Date(Math.max(clock.now().getTime(), found.passwordChangedAt.getTime() + 1))
        await locked.setPassword(found.id, passwordHash, now)
        await refreshTokenRepository(trx).revokeAllOfUser(found.id, now)
      })
    },

    /** The account deletes itself, once its password confirms it is really the holder. */
    async removeSelf(actor: Actor, password: string, address: string): Promise<void> {
      const found = await confirmPassword(actor, password, address, 'The password is wrong.')
      await users.remove(found.id)
    },

    /** Deleting a user deletes its refresh tokens with it (ON DELETE CASCADE). */
    async remove(actor: Actor, id: string): Promise<void> {
      const allowed = actor.id === id || actor.role === 'admin'
      if (!allowed || !(await users.remove(id))) throw noSuchUser()
    },
  }
}

/** The throttle's and the policy's name for an account: its login key. */
function accountKey(login: string): string | undefined {
  const checked = checkLogin(login)
  return checked.ok ? checked.key : undefined
}

export type UserService = ReturnType<typeof createUserService>
