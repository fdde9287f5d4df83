import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import { migrateToLatest } from './migrate.ts'
import type { Store } from './schema.ts'
import { openStore } from './store.ts'

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

export interface StorePluginOptions {
  /** A store opened by the caller (tests, CLI); it stays theirs to close. */
  store?: Store
  migrate?: boolean
}

export default fp<StorePluginOptions>(
  async (app, options) => {
    const owned = !options.store
    const store =
      options.store ??
      openStore(app.config.databaseUrl, {
        poolSize: app.config.databasePoolSize,
        // The message only: pg's error carries the whole client (host, user, cancel key).
        onPoolError: (error) => app.log.warn({ cause: error.message }, 'database connection lost'),
        onQuery: (ms) => app.metrics.db.queryDuration.observe(ms / 1000),
      })
    app.decorate('store', store)
    const stats = store.poolStats
    if (stats) {
      new Gauge({
        name: 'usersvc_db_pool_connections',
        help: 'PostgreSQL pool connections by state (total, idle; waiting: clients queued for one)',
        labelNames: ['state'] as const,
        registers: [app.metrics.registry],
        collect() {
          const { total, idle, waiting } = stats()
          this.set({ state: 'total' }, total)
          this.set({ state: 'idle' }, idle)
          this.set({ state: 'waiting' }, waiting)
        },
      })
    }
    if (owned) app.addHook('onClose', () => store.destroy())
    if (options.migrate !== false) await migrateToLatest(store)
  },
  { name: 'store', dependencies: ['core', 'metrics'] },
)
