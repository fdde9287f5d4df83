import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import { AppError } from '../errors.ts'
import { createStoreGuard, type StoreGuard } from './guard.ts'
import { migrateToLatest } from './migrate.ts'
import type { Store } from './schema.ts'
import { openStore } from './store.ts'

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
    storeGuard: StoreGuard
  }
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

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

    const guard = createStoreGuard(store, app.log)
    app.decorate('storeGuard', guard)
    // SQLite's probe is a local write of milliseconds, worth waiting for: a login then meets the
    // fault before its password is checked, right or wrong alike. PostgreSQL's goes over the
    // network, where an outage could hold it for the query timeout; there the first failing
    // write tells the guard, and refusals start from the next request.
    const wait = store.dialect === 'sqlite'
    app.addHook('onRequest', async (request) => {
      // Only routes that may write; reads are served from the open database while they can.
      if (READS.has(request.method) || request.routeOptions.url === undefined) return
      if (!(await guard.check(wait))) return
      // No cause, so no log line per refusal: the guard logged the fault once, the request log
      // has the 503.
      throw new AppError('unavailable', { headers: { 'retry-after': '1' } })
    })
    app.addHook('onError', async (_request, _reply, error) => guard.note(error))
  },
  { name: 'store', dependencies: ['core', 'metrics'] },
)
