import { systemClock } from '../clock.ts'
import { eventRecorder } from '../events/record.ts'
import { recorder } from '../outbox/record.ts'
import { createKeyStore } from '../tokens/keystore.ts'
import { createSealer } from '../tokens/sealing.ts'
import { type Command, UsageError } from './command.ts'
import { withStore } from './store.ts'

const usage = `usage: usersvc keys rotate

Adds a new Ed25519 signing key, used for new tokens from now on (running instances pick it up
within KEY_CACHE_SECONDS). The previous key stays in the JWKS until the access tokens it signed
have expired, so nothing in flight is rejected.`

export const keysCommand: Command = {
  usage,
  async run({ positionals }, config) {
    if (positionals[0] !== 'rotate') throw new UsageError(usage)
    const kid = await withStore(config, async (store) => {
      const keys = createKeyStore({
        db: store.db,
        clock: systemClock,
        accessTtlSeconds: config.tokens.accessTtlSeconds,
        cacheSeconds: 0,
        sealer: createSealer(config.tokens.signingKeySecrets),
        // Recorded here, delivered by a running service's senders (the outbox is in the store).
        events: eventRecorder(
          recorder(
            store.dialect,
            () => new Date(),
            () => {},
          ),
          () => new Date(),
        ),
      })
      // No init: rotating must not need to open the current key (a lost SIGNING_KEY_SECRET is
      // recovered from by rotating under a new one; the old key's tokens still verify).
      return keys.rotate()
    })
    console.log(`new signing key ${kid}`)
    return 0
  },
}
