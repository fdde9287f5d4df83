import type { Db } from '../db/schema.ts'
import { currentClient } from '../events/context.ts'
import type { Language } from '../outbox/mail.ts'
import type { Record } from '../outbox/record.ts'
import type { Throttle } from '../throttle/throttle.ts'
import type { AccountName } from './account.ts'

/** The outbox channel of recovery requests, consumed by worker.ts. */
export const RECOVERY_CHANNEL = 'recovery'

/** What POST /recovery/ leaves for the worker: whom it named, and the mail's language. */
export interface RecoveryRequest {
  account: AccountName
  language: Language
  /** Who asked, for the recovery.requested event the worker records (absent before 0005). */
  client?: { address: string | null; userAgent: string | null }
}

export interface RecoveryRequestsOptions {
  db: Db
  record: Record
  throttle: Throttle
}

/**
 * Asking for a recovery code. The request never looks at the account: it writes the same one
 * row whoever is named, so its answer, its bytes and its time cannot tell whether the account
 * exists, has a verified address, or has had its codes for this hour. The worker decides, after
 * the answer, and mails nothing at all when there is nothing to mail.
 */
export function createRecoveryRequests({ db, record, throttle }: RecoveryRequestsOptions) {
  return {
    async request(account: AccountName, address: string, language: Language): Promise<void> {
      // Per client address only: a limit per account would answer differently for real ones.
      await throttle.recoveryRequest(address)
      const request: RecoveryRequest = { account, language, client: currentClient() }
      await db.transaction().execute((trx) => record(trx, RECOVERY_CHANNEL, request))
    },
  }
}

export type RecoveryRequests = ReturnType<typeof createRecoveryRequests>
