import { type Kysely, type Migration, type MigrationResultSet, Migrator, sql } from 'kysely'
import { initial } from './migrations/0001_initial.ts'
import { storeProbe } from './migrations/0002_store_probe.ts'
import { emailRecoveryOutbox } from './migrations/0003_email_recovery_outbox.ts'
import { factorsSessions } from './migrations/0004_factors_sessions.ts'
import { eventsWebhooks } from './migrations/0005_events_webhooks.ts'
import { importedHashes } from './migrations/0006_imported_hashes.ts'
import { oidc } from './migrations/0007_oidc.ts'
import { oidcClients } from './migrations/0008_oidc_clients.ts'
import type { Database, Dialect, Store } from './schema.ts'

const migrations = (dialect: Dialect): Record<string, Migration> => ({
  '0001_initial': initial(dialect),
  '0002_store_probe': storeProbe(),
  '0003_email_recovery_outbox': emailRecoveryOutbox(dialect),
  '0004_factors_sessions': factorsSessions(dialect),
  '0005_events_webhooks': eventsWebhooks(dialect),
  '0006_imported_hashes': importedHashes(),
  '0007_oidc': oidc(dialect),
  '0008_oidc_clients': oidcClients(dialect),
})

// SQLite: the migrator holds our one connection between acquireMigrationLock and
// releaseMigrationLock, where the SQLite dialect (sqlite.ts) runs BEGIN IMMEDIATE … COMMIT, so a
// second process waits instead of racing. A failing migration rolls back everything this run did,
// its bookkeeping rows included, and leaves a fresh transaction for the final COMMIT.
function atomicOnSqlite(migration: Migration): Migration {
  // biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time, not typed by today's schema
  const up = async (db: Kysely<any>) => {
    try {
      await migration.up(db)
    } catch (error) {
      await sql`rollback`.execute(db)
      await sql`begin immediate`.execute(db)
      throw error
    }
  }
  return { ...migration, up }
}

// Migrations are listed, not discovered on disk: no dynamic imports, and the list is the order.
async function migrator(store: Store): Promise<Migrator> {
  const list = migrations(store.dialect)
  if (store.dialect === 'sqlite') {
    for (const name of Object.keys(list)) list[name] = atomicOnSqlite(list[name] as Migration)
    return new Migrator({ db: store.db, provider: { getMigrations: async () => list } })
  }
  // PostgreSQL: the bookkeeping tables live in the schema we migrate, not wherever the first
  // schema on the search path happens to have them; Kysely takes an advisory lock per run.
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(
    store.db,
  )
  return new Migrator({
    db: store.db as Kysely<Database>,
    provider: { getMigrations: async () => list },
    migrationTableSchema: rows[0]?.schema ?? 'public',
  })
}

export async function migrateToLatest(store: Store): Promise<MigrationResultSet> {
  const result = await (await migrator(store)).migrateToLatest()
  if (result.error) throw result.error
  return result
}
