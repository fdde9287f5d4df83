import type { Config } from '../config/index.ts'
import { migrateToLatest } from '../db/migrate.ts'
import type { Store } from '../db/schema.ts'
import { openStore } from '../db/store.ts'

/** Runs `work` on the configured database (migrated first, unless told not to), then closes it. */
export async function withStore<T>(
  config: Config,
  work: (store: Store) => Promise<T>,
  migrate = true,
): Promise<T> {
  const store = openStore(config.databaseUrl, { poolSize: 2 })
  try {
    if (migrate) await migrateToLatest(store)
    return await work(store)
  } finally {
    await store.destroy()
  }
}
