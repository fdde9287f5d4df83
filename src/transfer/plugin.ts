import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import { createImporter, type ImportItem, type ImportReport, type ImportRun } from './importer.ts'
import { transferRepository } from './repository.ts'

export interface Transfer {
  /** One request's records: checked and written as one run (duplicates among them refused). */
  importRecords(items: ImportItem[], run: ImportRun): Promise<ImportReport>
}

declare module 'fastify' {
  interface FastifyInstance {
    transfer: Transfer
  }
}

/** A scrape reads the counts at most this often: the partial index makes it cheap, not free. */
const COUNT_EVERY_MS = 30_000

export default fp(
  async (app) => {
    const options = {
      db: app.store.db,
      clock: app.clock,
      hasher: app.hasher,
      policy: app.passwordPolicy,
      events: app.events.recordMany,
    }
    app.decorate('transfer', {
      importRecords: (items, run) => createImporter(options, run).batch(items),
    } satisfies Transfer)

    let counted: { at: number; counts: Map<string, number> } | undefined
    new Gauge({
      name: 'usersvc_password_hashes_foreign',
      help: 'Imported hashes of other schemes not yet replaced by argon2id at a first login, by scheme',
      labelNames: ['scheme'] as const,
      registers: [app.metrics.registry],
      async collect() {
        if (!counted || Date.now() - counted.at > COUNT_EVERY_MS) {
          counted = {
            at: Date.now(),
            counts: await transferRepository(app.store.db).foreignCounts(),
          }
        }
        this.reset()
        for (const [scheme, count] of counted.counts) this.set({ scheme }, count)
      },
    })
  },
  { name: 'transfer', dependencies: ['core', 'store', 'metrics', 'passwords', 'events', 'users'] },
)
