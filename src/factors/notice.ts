import type { Db } from '../db/schema.ts'
import { type Language, MAIL_CHANNEL } from '../outbox/mail.ts'
import type { Record } from '../outbox/record.ts'
import { verifiedAddress } from '../users/email-address.ts'
import { userRepository } from '../users/repository.ts'

/**
 * Tells the holder what just happened to the account, when it has a verified address: recorded
 * in the transaction of the change it tells of (NIST SP 800-63B §4.2.3 for password changes).
 */
export async function recordNotice(
  trx: Db,
  record: Record,
  notice: {
    userId: string
    template:
      | 'password_changed'
      | 'recovery_codes_generated'
      | 'factor_added'
      | 'factor_removed'
      | 'factors_reset'
      | 'recovery_code_login'
    language: Language
  },
): Promise<void> {
  const user = await userRepository(trx).findById(notice.userId)
  const to = user && verifiedAddress(user)
  if (!user || !to) return
  await record(trx, MAIL_CHANNEL, {
    template: notice.template,
    to,
    language: notice.language,
    login: user.login,
  })
}
