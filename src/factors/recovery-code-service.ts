import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import type { Language } from '../outbox/mail.ts'
import type { Record as RecordFn } from '../outbox/record.ts'
import { withUserLock } from '../users/lock.ts'
import type { User } from '../users/types.ts'
import { recordNotice } from './notice.ts'
import type { CodeSetStatus, RecoveryCodeStore } from './recovery-codes.ts'

export interface RecoveryCodeServiceOptions {
  db: Db
  clock: Clock
  store: RecoveryCodeStore
  record: RecordFn
  events: RecordEvent
  /**
   * The one password check (authn/password.ts) by the caller's id, given by the plugin: factors/
   * never imports authn/, which will ask factors/ for second factors.
   */
  confirm(userId: string, password: string, address: string): Promise<User | undefined>
}

export interface NewCodes {
  /** Shown this once: only their hashes are kept. */
  codes: string[]
  createdAt: Date
}

const wrongPassword = () =>
  new AppError('invalid_credentials', { detail: 'The password is wrong.' })

/** The caller's own saved recovery codes: a new set (confirmed by the password), and how many are left. */
export function createRecoveryCodeService(options: RecoveryCodeServiceOptions) {
  const { db, clock, store, record, confirm } = options
  return {
    async generate(actor: User, password: string, address: string, language: Language) {
      const user = await confirm(actor.id, password, address)
      if (!user) throw wrongPassword()
      const set = await store.make()
      // Under the user's lock: two sets made at once leave one, never both.
      const createdAt = await withUserLock(
        db,
        user.id,
        async (trx) => {
          const now = clock.now()
          await store.replace(trx, user.id, set, now)
          await recordNotice(trx, record, {
            userId: user.id,
            template: 'recovery_codes_generated',
            language,
          })
          const data = { count: set.codes.length }
          await options.events(trx, {
            type: 'recovery_codes.generated',
            userId: user.id,
            at: now,
            data,
          })
          return now
        },
        // Still the password that was checked.
        { passwordChangedAt: user.passwordChangedAt },
      )
      if (!createdAt) throw wrongPassword()
      return { codes: set.codes, createdAt } satisfies NewCodes
    },

    status: (actor: { id: string }): Promise<CodeSetStatus> => store.status(db, actor.id),
  }
}

export type RecoveryCodeService = ReturnType<typeof createRecoveryCodeService>
