import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import type { Language } from '../outbox/mail.ts'
import type { Record as RecordFn } from '../outbox/record.ts'
import { codePoints, isUuid } from '../text.ts'
import { withUserLock } from '../users/lock.ts'
import type { User } from '../users/types.ts'
import { recordFactorEvent } from './events.ts'
import { recordNotice } from './notice.ts'
import { factorRepository } from './repository.ts'
import type { Factor } from './types.ts'

export const FACTOR_NAME_MAX_LENGTH = 64

/**
 * A factor's name as given (trimmed), or `fallback` when none was: 1 to 64 characters, no
 * control characters (it is shown in lists and mails). Otherwise 422 naming `name`.
 */
export function factorName(input: string | undefined, fallback: string): string {
  if (input === undefined) return fallback
  const name = input.trim()
  const length = codePoints(name)
  if (length < 1 || length > FACTOR_NAME_MAX_LENGTH) {
    const short = length < 1
    throw new AppError('validation_failed', {
      errors: [
        {
          field: 'name',
          code: short ? 'too_short' : 'too_long',
          message: `must be 1 to ${FACTOR_NAME_MAX_LENGTH} characters long`,
          limit: short ? 1 : FACTOR_NAME_MAX_LENGTH,
        },
      ],
    })
  }
  if (/\p{Cc}/u.test(name)) {
    throw new AppError('validation_failed', {
      errors: [
        {
          field: 'name',
          code: 'invalid_characters',
          message: 'must not contain control characters',
        },
      ],
    })
  }
  return name
}

export const wrongPassword = () =>
  new AppError('invalid_credentials', { detail: 'The password is wrong.' })

const noSuchFactor = () => new AppError('not_found', { detail: 'No such factor.' })
const noSuchUser = () => new AppError('not_found', { detail: 'No such user.' })

export interface FactorServiceOptions {
  db: Db
  clock: Clock
  record: RecordFn
  events: RecordEvent
  /** How many saved recovery codes the user has left. */
  recoveryCodesRemaining(userId: string): Promise<number>
  /** The one password check by the caller's id (authn/password.ts, given by the plugin). */
  confirmPassword(userId: string, password: string, address: string): Promise<User | undefined>
}

export interface FactorList {
  /** Active factors, oldest first: a pending TOTP factor is not one yet. */
  items: Factor[]
  recoveryCodesRemaining: number
}

/** A user's second factors of every kind: the list, removing one, an admin's reset. */
export function createFactorService(options: FactorServiceOptions) {
  const { db, clock, record, recoveryCodesRemaining, confirmPassword } = options
  return {
    async list(actor: User): Promise<FactorList> {
      const [items, remaining] = await Promise.all([
        factorRepository(db).listActive(actor.id),
        recoveryCodesRemaining(actor.id),
      ])
      return { items, recoveryCodesRemaining: remaining }
    },

    /** Removes one of the caller's factors, confirmed by the password; 404 when not theirs. */
    async remove(
      actor: User,
      id: string,
      password: string,
      address: string,
      language: Language,
    ): Promise<void> {
      const user = await confirmPassword(actor.id, password, address)
      if (!user) throw wrongPassword()
      if (!isUuid(id)) throw noSuchFactor()
      const removed = await withUserLock(
        db,
        user.id,
        async (trx) => {
          const factor = await factorRepository(trx).remove(user.id, id.toLowerCase())
          if (!factor) return 'none' as const
          // NIST SP 800-63B §4.2.3: the holder hears of it. A pending factor never counted.
          if (factor.confirmedAt !== null) {
            await recordNotice(trx, record, {
              userId: user.id,
              template: 'factor_removed',
              language,
            })
            await recordFactorEvent(trx, options.events, 'factor.removed', factor, clock.now())
          }
          return 'removed' as const
        },
        // Still the password that was checked.
        { passwordChangedAt: user.passwordChangedAt },
      )
      if (removed === undefined) throw wrongPassword()
      if (removed === 'none') throw noSuchFactor()
    },

    /** Removes every factor of the user (an admin's "lost my phone"); 404 when there is none. */
    async resetAll(userId: string, language: Language): Promise<void> {
      if (!isUuid(userId)) throw noSuchUser()
      const id = userId.toLowerCase()
      const done = await withUserLock(db, id, async (trx) => {
        // The notice says that signing in needs only the password now: only when that is news.
        const removed = await factorRepository(trx).removeAll(id)
        if (removed.length > 0) {
          await recordNotice(trx, record, { userId: id, template: 'factors_reset', language })
        }
        for (const factor of removed) {
          await recordFactorEvent(trx, options.events, 'factor.removed', factor, clock.now())
        }
        return true
      })
      if (!done) throw noSuchUser()
    },
  }
}

export type FactorService = ReturnType<typeof createFactorService>
