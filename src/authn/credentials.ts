import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { PasswordChangeMethod, RecordEvent } from '../events/catalogue.ts'
import type { Hasher } from '../passwords/hasher.ts'
import { normalisePassword, type PasswordPolicy } from '../passwords/policy.ts'
import { endSessionsOf } from '../sessions/service.ts'
import { withUserLock } from '../users/lock.ts'
import { userRepository } from '../users/repository.ts'
import { rejected } from '../users/service.ts'
import type { User } from '../users/types.ts'
import type { PasswordCheck } from './password.ts'

/** How a password is being replaced, and where its events go. */
export interface Replacement {
  method: PasswordChangeMethod
  events: RecordEvent
}

/**
 * Inside the user's lock (users/lock.ts): the new hash takes effect and every session ends, in
 * one transaction, with their events. The time of the change is always after the password it
 * replaces, even if this clock runs behind another instance's. Returns it.
 */
export async function replacePassword(
  trx: Db,
  user: User,
  passwordHash: string,
  clock: Clock,
  { method, events }: Replacement,
): Promise<Date> {
  const now = new Date(Math.max(clock.now().getTime(), user.passwordChangedAt.getTime() + 1))
  await userRepository(trx).setPassword(user.id, passwordHash, now)
  const data = { method }
  await events(trx, { type: 'user.password_changed', userId: user.id, at: now, data })
  await endSessionsOf(trx, user.id, now, 'password_changed', events)
  return now
}

/**
 * Deletes the account, inside the user's lock: its sessions' ends and the deletion are events of
 * the same transaction (the rows themselves go by ON DELETE CASCADE).
 */
export async function deleteAccount(
  trx: Db,
  userId: string,
  at: Date,
  events: RecordEvent,
): Promise<boolean> {
  await endSessionsOf(trx, userId, at, 'deleted', events)
  if (!(await userRepository(trx).remove(userId))) return false
  await events(trx, { type: 'user.deleted', userId, at })
  return true
}

export interface CredentialServiceOptions {
  db: Db
  clock: Clock
  hasher: Hasher
  policy: PasswordPolicy
  passwords: PasswordCheck
  events: RecordEvent
}

/**
 * What the caller may do only after proving again that they hold the account: a stolen access
 * token must not become a way to take it over or to guess its password (wrong ones count as
 * failed logins of the account).
 */
export function createCredentialService(options: CredentialServiceOptions) {
  const { db, clock, hasher, policy, passwords, events } = options

  async function confirm(actor: User, password: string, address: string, wrong: string) {
    const found = await passwords.check({ id: actor.id }, password, address)
    if (!found) throw new AppError('invalid_credentials', { detail: wrong })
    return found
  }

  return {
    /** A new password ends every session: all refresh tokens of the user are revoked with it. */
    async changePassword(actor: User, current: string, next: string, address: string) {
      const wrong = 'The current password is wrong.'
      const found = await confirm(actor, current, address, wrong)
      const errors = policy.check(next, 'new_password', found.loginKey)
      if (errors.length > 0) throw rejected(errors)
      const passwordHash = await hasher.hash(normalisePassword(next))
      const changed = await withUserLock(
        db,
        found.id,
        async (trx) => {
          await replacePassword(trx, found, passwordHash, clock, { method: 'change', events })
          return true
        },
        // Still the password that was checked: of two changes racing, one is refused.
        { passwordChangedAt: found.passwordChangedAt },
      )
      if (!changed) throw new AppError('invalid_credentials', { detail: wrong })
    },

    /** The account deletes itself, once its password confirms it is really the holder. */
    async deleteSelf(actor: User, password: string, address: string): Promise<void> {
      const found = await confirm(actor, password, address, 'The password is wrong.')
      await withUserLock(db, found.id, (trx) => deleteAccount(trx, found.id, clock.now(), events))
    },
  }
}

export type CredentialService = ReturnType<typeof createCredentialService>
