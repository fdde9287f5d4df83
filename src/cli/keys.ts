import { systemClock } from '../clock.ts'
import { eventRecorder } from '../events/record.ts'
import { recorder } from '../outbox/record.ts'
import { ALG, createKeyStore } from '../tokens/keystore.ts'
import { createSealer } from '../tokens/sealing.ts'
import { type Command, UsageError } from './command.ts'
import { withStore } from './store.ts'

const usage = `usage: usersvc keys rotate

Adds a new signing key for each algorithm in use: Ed25519 (EdDSA: access tokens, and ID tokens
by default) always, and RSA (RS256: ID tokens for clients that ask for it) once the OpenID
provider has made its first one. New tokens are signed with them from now on (running instances
pick them up within KEY_CACHE_SECONDS). The previous keys stay in the JWKS until the access
tokens they signed have expired, so nothing in flight is rejected.

Prints a line per new key: "new signing key KID" (EdDSA) or "new RS256 signing key KID".`

export const keysCommand: Command = {
  usage,
  async run({ positionals }, config) {
    if (positionals[0] !== 'rotate') throw new UsageError(usage)
    const added = await withStore(config, async (store) => {
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
      return keys.rotateAll()
    })
    // The EdDSA line is the one this command always printed: scripts may read it.
    for (const { kid, alg } of added) {
      console.log(alg === ALG ? `new signing key ${kid}` : `new ${alg} signing key ${kid}`)
    }
    return 0
  },
}
