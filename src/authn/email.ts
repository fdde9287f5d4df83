import type { Clock } from '../clock.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../errors.ts'
import { type Language, MAIL_CHANNEL } from '../outbox/mail.ts'
import { checkEmail } from '../users/email-address.ts'
import { type EmailOptions, mailVerificationCode } from '../users/email-verification.ts'
import { withUserLock } from '../users/lock.ts'
import { userRepository } from '../users/repository.ts'
import { takenError } from '../users/service.ts'
import type { User } from '../users/types.ts'
import type { PasswordCheck } from './password.ts'

export interface EmailChangeOptions {
  db: Db
  clock: Clock
  passwords: PasswordCheck
  email: EmailOptions
}

const wrongPassword = () =>
  new AppError('invalid_credentials', { detail: 'The password is wrong.' })

/**
 * Changing the address recovery codes go to takes the password: with an access token alone, a
 * thief could point recovery at their own mailbox and keep the account.
 */
export function createEmailChange({ db, clock, passwords, email }: EmailChangeOptions) {
  return {
    /**
     * Sets the caller's address (null: none), unverified. A code goes to the new address, a
     * notice to the old one if it was verified, and codes sent to the old one die.
     */
    async change(
      actor: User,
      given: string | null,
      password: string,
      address: string,
      language: Language,
    ): Promise<User> {
      // The address's rules first: a typo costs no password try.
      let next: { address: string; key: string } | null = null
      if (given !== null) {
        const checked = checkEmail(given)
        if (!checked.ok) throw new AppError('validation_failed', { errors: checked.errors })
        next = { address: checked.address, key: checked.key }
      }
      // Counted like a failed login when wrong (authn/password.ts).
      const found = await passwords.check({ id: actor.id }, password, address)
      if (!found) throw wrongPassword()
      let changed: User | undefined
      try {
        changed = await withUserLock(
          db,
          found.id,
          async (trx) => {
            const now = clock.now()
            const users = userRepository(trx)
            const before = (await users.findById(found.id)) ?? found
            await users.setEmail(found.id, next)
            // Codes mailed to the old address must not outlive it there: it may be why it changes.
            await email.codes.revoke(trx, found.id, 'verify_email', now)
            await email.codes.revoke(trx, found.id, 'recovery', now)
            if (next) await mailVerificationCode(trx, email, before, next.address, language, now)
            if (before.emailKey !== next?.key || before.email !== (next?.address ?? null)) {
              const data = { email: next?.address ?? null }
              await email.events(trx, {
                type: 'user.email_changed',
                userId: found.id,
                at: now,
                data,
              })
            }
            if (before.email && before.emailVerifiedAt && before.emailKey !== next?.key) {
              await email.record(trx, MAIL_CHANNEL, {
                template: 'email_changed',
                to: before.email,
                language,
                login: before.login,
              })
            }
            return users.findById(found.id)
          },
          // Still the password that was checked.
          { passwordChangedAt: found.passwordChangedAt },
        )
      } catch (error) {
        throw takenError(error) ?? error
      }
      if (!changed) throw wrongPassword()
      return changed
    },
  }
}

export type EmailChange = ReturnType<typeof createEmailChange>
