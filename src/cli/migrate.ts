import { migrateToLatest } from '../db/migrate.ts'
import type { Command } from './command.ts'
import { withStore } from './store.ts'

export const migrateCommand: Command = {
  usage: 'usage: usersvc migrate\n\nApplies pending migrations to DATABASE_URL and exits.',
  async run(_input, config) {
    const result = await withStore(config, migrateToLatest, false)
    const applied = result.results?.map((r) => r.migrationName) ?? []
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date')
    return 0
  },
}
