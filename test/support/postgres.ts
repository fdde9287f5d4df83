// The test PostgreSQL server: where it is, and one statement on it outside any app.
import pg from 'pg'

export const POSTGRES_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** One statement on the test PostgreSQL server (POSTGRES_URL), on a connection of its own. */
export async function adminQuery<R extends pg.QueryResultRow>(
  sql: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  try {
    return (await client.query<R>(sql, values)).rows
  } finally {
    await client.end()
  }
}
