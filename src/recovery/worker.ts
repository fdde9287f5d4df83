import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../clock.ts'
import type { OneTimeCodes } from '../codes/one-time-codes.ts'
import type { Db } from '../db/schema.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { runInContext } from '../events/context.ts'
import { MAIL_CHANNEL } from '../outbox/mail.ts'
import type { Record } from '../outbox/record.ts'
import type { OutboxMessage } from '../outbox/repository.ts'
import { verifiedAddress } from '../users/email-address.ts'
import { withUserLock } from '../users/lock.ts'
import { userRepository } from '../users/repository.ts'
import { findAccount } from './account.ts'
import type { RecoveryRequest } from './requests.ts'

/**
 * At least 8 random digits: with 5 tries per code and 5 codes an hour, 6 digits would give a
 * patient attacker about one chance in five a year against one account; 8 give one in 450.
 */
export const RECOVERY_CODE_DIGITS = 8
/** Codes mailed per account per hour, whoever asks. */
export const RECOVERY_CODES_PER_HOUR = 5
const HOUR_MS = 3600_000

export interface RecoveryWorkerOptions {
  db: Db
  clock: Clock
  codes: OneTimeCodes
  record: Record
  events: RecordEvent
  ttlSeconds: number
  log: FastifyBaseLogger
}

/**
 * Delivers one recovery request of the outbox: when the named account has a verified address and
 * fewer than RECOVERY_CODES_PER_HOUR codes this hour, a new code (the older one dies) and the
 * mail that carries it, recorded together. Otherwise nothing, and nobody is told.
 */
export function recoveryWorker({
  db,
  clock,
  codes,
  record,
  events,
  ttlSeconds,
  log,
}: RecoveryWorkerOptions) {
  return async (message: OutboxMessage): Promise<void> => {
    const request = message.payload as RecoveryRequest
    const found = await findAccount(db, request.account)
    if (!found) return
    // The event says where the request came from, not this background job.
    const client = request.client ?? { address: null, userAgent: null }
    const context = { ...client, caller: () => null }
    // Under the user's lock: two instances working two requests for one account count alike.
    await withUserLock(db, found.id, async (trx) => {
      const now = clock.now()
      const user = await userRepository(trx).findById(found.id)
      if (!user) return
      const requested = (mailed: boolean) =>
        runInContext(context, () =>
          events(trx, { type: 'recovery.requested', userId: user.id, at: now, data: { mailed } }),
        )
      // Only a verified address receives recovery codes (NIST SP 800-63B §4.2.1.2: an address of
      // record, proven by a code sent to it).
      const to = verifiedAddress(user)
      if (!to) return requested(false)
      const since = new Date(now.getTime() - HOUR_MS)
      const sent = await codes.issuedTimes(trx, user.id, 'recovery', since)
      if (sent.length >= RECOVERY_CODES_PER_HOUR) {
        log.info({ userId: user.id }, 'recovery: hourly code limit reached; no code sent')
        return requested(false)
      }
      const { code } = await codes.issue(trx, {
        userId: user.id,
        purpose: 'recovery',
        digits: RECOVERY_CODE_DIGITS,
        ttlSeconds,
        now,
        sentTo: to,
      })
      await record(trx, MAIL_CHANNEL, {
        template: 'recovery_code',
        to,
        language: request.language,
        login: user.login,
        code,
      })
      await requested(true)
    })
  }
}
