import fp from 'fastify-plugin'
import { type OneTimeCodes, oneTimeCodes } from './one-time-codes.ts'

const PRUNE_EVERY_MS = 60 * 60 * 1000
// Codes are counted for the hourly mail limits after they expire: keep them a day.
const KEEP_EXPIRED_MS = 24 * 60 * 60 * 1000

declare module 'fastify' {
  interface FastifyInstance {
    /** Codes mailed to users (verify_email, recovery), stored as keyed hashes. */
    oneTimeCodes: OneTimeCodes
  }
}

export default fp(
  async (app) => {
    // The signing-key secret keys the hashes too, so a copy of the database alone cannot test
    // guesses offline (8 digits fall in seconds). Codes issued before it changes stop working:
    // they live minutes, and a new one is a request away.
    const pepper = app.config.tokens.signingKeySecrets[0] ?? ''
    const codes = oneTimeCodes({ pepper })
    app.decorate('oneTimeCodes', codes)

    const prune = async () => {
      try {
        const before = new Date(app.clock.now().getTime() - KEEP_EXPIRED_MS)
        const removed = await codes.deleteExpired(app.store.db, before)
        if (removed > 0) app.log.info({ removed }, 'pruned expired one-time codes')
      } catch (error) {
        app.log.warn({ err: error }, 'pruning expired one-time codes failed')
      }
    }
    const timer = setInterval(prune, PRUNE_EVERY_MS).unref()
    app.addHook('onClose', async () => clearInterval(timer))
  },
  { name: 'one-time-codes', dependencies: ['core', 'store'] },
)
