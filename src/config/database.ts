import Type from 'typebox'
import type { EnvOf } from './env.ts'

export const env = {
  DATABASE_URL: Type.String({
    default: 'sqlite:./data/usersvc.db',
    pattern: '^(sqlite:|postgres(ql)?://)',
  }),
  DATABASE_POOL_SIZE: Type.Integer({ default: 10, minimum: 1, maximum: 1000 }),
}

export interface DatabaseConfig {
  databaseUrl: string
  databasePoolSize: number
}

export function read(e: EnvOf<typeof env>): DatabaseConfig {
  return { databaseUrl: e.DATABASE_URL, databasePoolSize: e.DATABASE_POOL_SIZE }
}
