import { systemClock } from '../clock.ts'
import { oneTimeCodes } from '../codes/one-time-codes.ts'
import { eventRecorder } from '../events/record.ts'
import { recorder } from '../outbox/record.ts'
import { createHasher } from '../passwords/hasher.ts'
import { createPasswordPolicy } from '../passwords/policy.ts'
import { noThrottle } from '../throttle/throttle.ts'
import { createUserService } from '../users/service.ts'
import { type Command, UsageError } from './command.ts'
import { readSecret } from './read-secret.ts'
import { withStore } from './store.ts'

const usage = `usage: usersvc admin create --login NAME

Creates a user with the admin role. The password comes from USERSVC_ADMIN_PASSWORD,
else the first line of standard input, else a prompt (not echoed). The password policy applies.`

export const adminCommand: Command = {
  usage,
  options: { login: { type: 'string' } },
  async run({ values, positionals }, config) {
    const login = values.login
    if (positionals[0] !== 'create' || typeof login !== 'string') throw new UsageError(usage)
    const password =
      process.env.USERSVC_ADMIN_PASSWORD || (await readSecret(`Password for ${login}: `))
    if (password === undefined) {
      throw new UsageError(
        'usersvc: no password given: set USERSVC_ADMIN_PASSWORD, pipe it on standard input, or run this at a terminal',
      )
    }
    const user = await withStore(config, async (store) => {
      const hasher = await createHasher({ params: config.passwords.argon2 })
      // Recorded here, delivered by a running service's senders (the outbox is in the store).
      const record = recorder(
        store.dialect,
        () => new Date(),
        () => {},
      )
      const users = createUserService({
        db: store.db,
        clock: systemClock,
        hasher,
        policy: createPasswordPolicy(config.passwords.minLength),
        throttle: noThrottle,
        // An admin made here has no address; a running service would send whatever this records.
        email: {
          codes: oneTimeCodes({ pepper: config.tokens.signingKeySecrets[0] ?? '' }),
          record,
          // The system made it: no request, so the actor is the system.
          events: eventRecorder(record, () => new Date()),
          codeTtlSeconds: config.recovery.emailCodeTtlSeconds,
          required: false,
        },
      })
      return users.register(login, password, 'admin')
    })
    console.log(`created admin ${user.login} (${user.id})`)
    return 0
  },
}
