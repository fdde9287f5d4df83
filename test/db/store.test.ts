import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, type TestContext, test } from 'node:test'
import { promisify } from 'node:util'
import { sql } from 'kysely'
import { isUnavailable, isUniqueViolation } from '../../src/db/errors.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Store } from '../../src/db/schema.ts'
import { sqlitePath } from '../../src/db/sqlite.ts'
import { openStore } from '../../src/db/store.ts'
import { type DialectName, dialects, freshDatabaseUrl, tempDir } from '../support/harness.ts'

const run = promisify(execFile)

function open(t: TestContext, url: string): Store {
  const store = openStore(url, { poolSize: 2 })
  t.after(() => store.destroy())
  return store
}

/** The single value a `pragma` returns. */
async function pragma(store: Store, name: string): Promise<unknown> {
  const { rows } = await sql<Record<string, unknown>>`pragma ${sql.raw(name)}`.execute(store.db)
  assert.equal(rows.length, 1, name)
  return Object.values(rows[0] as Record<string, unknown>)[0]
}

function userRow(loginKey: string, id: string = randomUUID()) {
  const now = new Date().toISOString()
  return {
    id,
    login: loginKey,
    login_key: loginKey,
    password_hash: '$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g',
    role: 'user' as const,
    registered_at: now,
    password_changed_at: now,
  }
}

function tokenRow(userId: string) {
  const now = new Date()
  return {
    id: randomUUID(),
    family_id: randomUUID(),
    user_id: userId,
    token_hash: randomUUID(),
    created_at: now.toISOString(),
    expires_at: new Date(now.getTime() + 3_600_000).toISOString(),
  }
}

async function thrown(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run()
  } catch (error) {
    return error
  }
  assert.fail('expected the statement to fail')
}

/** The error is that constraint's violation: PostgreSQL's SQLSTATE, or SQLite's message. */
function assertViolation(
  error: unknown,
  dialect: DialectName,
  postgresCode: string,
  sqliteMessage: RegExp,
) {
  const e = error as { code?: unknown; message?: unknown }
  if (dialect === 'postgres') assert.equal(e?.code, postgresCode, String(error))
  else assert.match(String(e?.message), sqliteMessage)
}

describe('SQLite store', () => {
  test('runs in WAL mode, synchronous=FULL, with foreign keys and a busy timeout', async (t) => {
    const store = open(t, await freshDatabaseUrl(t, 'sqlite'))
    assert.equal(store.dialect, 'sqlite')
    assert.equal(await pragma(store, 'journal_mode'), 'wal')
    assert.equal(await pragma(store, 'synchronous'), 2) // FULL
    assert.equal(await pragma(store, 'foreign_keys'), 1)
    assert.equal(await pragma(store, 'busy_timeout'), 5000)
  })

  test('processes opening one new file at the same moment all start, in WAL mode', async (t) => {
    // SQLite answers one of two processes switching a new file to WAL "database is locked" at
    // once, without waiting: the store must try again, or an instance fails to start.
    const dir = await tempDir(t)
    const sqliteTs = new URL('../../src/db/sqlite.ts', import.meta.url).href
    const script = `
      const { openSqlite } = await import(${JSON.stringify(sqliteTs)})
      // Every process opens at the same moment (sleeping, not spinning: other tests run beside).
      const until = Number(process.argv[2])
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, until - Date.now()))
      while (Date.now() < until);
      const db = openSqlite(process.argv[1])
      process.stdout.write(String(db.prepare('PRAGMA journal_mode').all([])[0].journal_mode))
      db.close()`
    for (let round = 0; round < 5; round++) {
      const url = `sqlite:${join(dir, `race${round}.db`)}`
      const at = String(Date.now() + 1000)
      const opened = await Promise.all(
        [1, 2, 3].map(() =>
          run(process.execPath, ['--input-type=module', '-e', script, url, at]).then(
            (r) => r.stdout,
            (error: Error & { stderr?: string }) => `failed: ${error.stderr ?? error.message}`,
          ),
        ),
      )
      assert.deepEqual(opened, ['wal', 'wal', 'wal'], `round ${round}`)
    }
  })

  test('a transaction holds the write lock from its first read, so another process waits its turn', async (t) => {
    // A deferred transaction that read before another process wrote could not write any more
    // (SQLITE_BUSY_SNAPSHOT, at once): taking the lock at BEGIN makes the other one wait instead.
    const url = await freshDatabaseUrl(t, 'sqlite')
    const store = open(t, url)
    await migrateToLatest(store)
    const other = new DatabaseSync(sqlitePath(url), { timeout: 0 })
    t.after(() => other.close())
    await store.db.transaction().execute(async (trx) => {
      await trx.selectFrom('users').select('id').execute()
      assert.throws(() => other.exec('BEGIN IMMEDIATE'), /database is locked/)
      await trx.insertInto('users').values(userRow('inside')).execute()
    })
    other.exec('BEGIN IMMEDIATE')
    other.exec('ROLLBACK')
    const logins = await store.db.selectFrom('users').select('login').execute()
    assert.deepEqual(
      logins.map((r) => r.login),
      ['inside'],
    )
  })

  test('the data folder is created on demand, readable by its owner only', async (t) => {
    const dir = await tempDir(t)
    const folder = join(dir, 'data', 'nested', 'deeper')
    assert.equal(existsSync(folder), false)
    const store = open(t, `sqlite:${join(folder, 'usersvc.db')}`)
    await migrateToLatest(store)
    assert.ok(statSync(folder).isDirectory())
    assert.ok(existsSync(join(folder, 'usersvc.db')))
    assert.equal(statSync(folder).mode & 0o077, 0, 'no access for group or others')
  })

  test('sqlite:///absolute/path works as well', async (t) => {
    const dir = await tempDir(t)
    const store = open(t, `sqlite://${join(dir, 'triple.db')}`)
    await migrateToLatest(store)
    assert.ok(existsSync(join(dir, 'triple.db')))
  })

  test('sqlitePath understands every form of the URL', () => {
    assert.equal(sqlitePath('sqlite::memory:'), ':memory:')
    assert.equal(sqlitePath('sqlite:./data/usersvc.db'), resolve('data/usersvc.db'))
    assert.equal(sqlitePath('sqlite:data/usersvc.db'), resolve('data/usersvc.db'))
    assert.equal(sqlitePath('sqlite:/var/lib/usersvc.db'), '/var/lib/usersvc.db')
    assert.equal(sqlitePath('sqlite:///var/lib/usersvc.db'), '/var/lib/usersvc.db')
  })

  test('an in-memory store works and creates no file', async (t) => {
    const store = open(t, 'sqlite::memory:')
    await migrateToLatest(store)
    assert.equal(existsSync(':memory:'), false)
    await store.db.insertInto('users').values(userRow('memory')).execute()
    const rows = await store.db.selectFrom('users').select('login').execute()
    assert.deepEqual(
      rows.map((row) => row.login),
      ['memory'],
    )
  })
})

test('openStore refuses a URL of another database', () => {
  assert.throws(() => openStore('mysql://root@localhost/users'), /sqlite: or postgres:\/\//)
})

test('isUniqueViolation is false for other errors', () => {
  assert.equal(isUniqueViolation(new Error('duplicate key')), false)
  assert.equal(isUniqueViolation(undefined), false)
  assert.equal(isUniqueViolation(null), false)
  assert.equal(isUniqueViolation({ code: '23503' }), false) // foreign key violation
  assert.equal(isUniqueViolation({ errcode: 787 }), false) // SQLITE_CONSTRAINT_FOREIGNKEY
})

test('isUnavailable: a database that cannot serve now (503), not one that refused the query (500)', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['SQLite busy (errcode 5)', { errcode: 5, message: 'database is locked' }, true],
    [
      'connection refused',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      true,
    ],
    ['connection reset', { code: 'ECONNRESET' }, true],
    ['PostgreSQL 08006 connection failure', { code: '08006' }, true],
    ['PostgreSQL 57P01 admin shutdown', { code: '57P01' }, true],
    ['PostgreSQL 57P03 cannot connect now', { code: '57P03' }, true],
    [
      'pg: Connection terminated unexpectedly',
      new Error('Connection terminated unexpectedly'),
      true,
    ],
    ['pg: Query read timeout', new Error('Query read timeout'), true],
    ['pg pool: connect timeout', new Error('timeout exceeded when trying to connect'), true],
    ['PostgreSQL unique violation 23505', { code: '23505', message: 'duplicate key' }, false],
    ['SQLite unique violation', { errcode: 2067, message: 'UNIQUE constraint failed' }, false],
    ['PostgreSQL 57014 query canceled', { code: '57014' }, false],
    ['a plain error', new Error('syntax error at or near "selec"'), false],
    ['null', null, false],
    ['undefined', undefined, false],
    ['a string', 'ECONNREFUSED', false],
  ]
  for (const [what, error, expected] of cases) {
    assert.equal(isUnavailable(error), expected, what)
  }
})

for (const dialect of dialects()) {
  describe(`store (${dialect})`, () => {
    test('migrations create the tables, and a second run applies nothing', async (t) => {
      const store = open(t, await freshDatabaseUrl(t, dialect))
      assert.equal(store.dialect, dialect)
      const first = await migrateToLatest(store)
      assert.deepEqual(
        first.results?.map((r) => [r.migrationName, r.status]),
        [
          ['0001_initial', 'Success'],
          ['0002_store_probe', 'Success'],
          ['0003_email_recovery_outbox', 'Success'],
          ['0004_factors_sessions', 'Success'],
          ['0005_events_webhooks', 'Success'],
          ['0006_imported_hashes', 'Success'],
          ['0007_oidc', 'Success'],
          ['0008_oidc_clients', 'Success'],
        ],
      )
      const second = await migrateToLatest(store)
      assert.equal(second.error, undefined)
      assert.deepEqual(second.results, [])
      const tables = (await store.db.introspection.getTables()).map((table) => table.name)
      for (const name of [
        'users',
        'refresh_tokens',
        'signing_keys',
        'outbox',
        'one_time_codes',
        'factors',
        'challenges',
        'sessions',
      ]) {
        assert.ok(tables.includes(name), `${name} in ${tables.join(', ')}`)
      }
    })

    test('migrating again from a new connection applies nothing either', async (t) => {
      const url = await freshDatabaseUrl(t, dialect)
      const first = openStore(url)
      await migrateToLatest(first)
      await first.destroy()
      const store = open(t, url)
      assert.deepEqual((await migrateToLatest(store)).results, [])
    })

    test('UNIQUE on login_key is enforced by the database itself', async (t) => {
      const store = open(t, await freshDatabaseUrl(t, dialect))
      await migrateToLatest(store)
      await store.db.insertInto('users').values(userRow('ivan')).execute()
      const error = await thrown(() =>
        store.db.insertInto('users').values(userRow('ivan')).execute(),
      )
      assert.equal(isUniqueViolation(error), true, String(error))
      // Another key is fine; the first row is untouched.
      await store.db.insertInto('users').values(userRow('ivan2')).execute()
      const keys = await store.db
        .selectFrom('users')
        .select('login_key')
        .orderBy('login_key')
        .execute()
      assert.deepEqual(
        keys.map((k) => k.login_key),
        ['ivan', 'ivan2'],
      )
    })

    test('a duplicate primary key is a unique violation too', async (t) => {
      const store = open(t, await freshDatabaseUrl(t, dialect))
      await migrateToLatest(store)
      const id = randomUUID()
      await store.db.insertInto('users').values(userRow('first', id)).execute()
      const error = await thrown(() =>
        store.db.insertInto('users').values(userRow('second', id)).execute(),
      )
      assert.equal(isUniqueViolation(error), true, String(error))
    })

    test('role is user or admin, nothing else', async (t) => {
      const store = open(t, await freshDatabaseUrl(t, dialect))
      await migrateToLatest(store)
      const error = await thrown(() =>
        store.db
          .insertInto('users')
          .values({ ...userRow('mallory'), role: 'root' as 'admin' })
          .execute(),
      )
      assertViolation(error, dialect, '23514', /^CHECK constraint failed/)
      assert.equal(isUniqueViolation(error), false)
      assert.equal((await store.db.selectFrom('users').select('id').execute()).length, 0)
    })

    test('a refresh token must belong to an existing user', async (t) => {
      const store = open(t, await freshDatabaseUrl(t, dialect))
      await migrateToLatest(store)
      const error = await thrown(() =>
        store.db.insertInto('refresh_tokens').values(tokenRow(randomUUID())).execute(),
      )
      assertViolation(error, dialect, '23503', /^FOREIGN KEY constraint failed/)
      assert.equal((await store.db.selectFrom('refresh_tokens').select('id').execute()).length, 0)
    })

    test('deleting a user deletes its refresh tokens, and only its own', async (t) => {
      const store = open(t, await freshDatabaseUrl(t, dialect))
      await migrateToLatest(store)
      const doomed = userRow('doomed')
      const other = userRow('other')
      await store.db.insertInto('users').values([doomed, other]).execute()
      await store.db
        .insertInto('refresh_tokens')
        .values([tokenRow(doomed.id), tokenRow(doomed.id), tokenRow(other.id)])
        .execute()
      const result = await store.db
        .deleteFrom('users')
        .where('id', '=', doomed.id)
        .executeTakeFirst()
      assert.equal(result.numDeletedRows, 1n)
      const left = await store.db.selectFrom('refresh_tokens').select('user_id').execute()
      assert.deepEqual(
        left.map((row) => row.user_id),
        [other.id],
      )
    })
  })
}

if (dialects().includes('postgres')) {
  describe('store (postgres, several schemas in one database)', () => {
    test('a fresh schema migrates while another schema is already migrated', async (t) => {
      const migrated = open(t, await freshDatabaseUrl(t, 'postgres'))
      await migrateToLatest(migrated)
      const fresh = open(t, await freshDatabaseUrl(t, 'postgres'))
      const result = await migrateToLatest(fresh)
      assert.deepEqual(
        result.results?.map((r) => [r.migrationName, r.status]),
        [
          ['0001_initial', 'Success'],
          ['0002_store_probe', 'Success'],
          ['0003_email_recovery_outbox', 'Success'],
          ['0004_factors_sessions', 'Success'],
          ['0005_events_webhooks', 'Success'],
          ['0006_imported_hashes', 'Success'],
          ['0007_oidc', 'Success'],
          ['0008_oidc_clients', 'Success'],
        ],
      )
      await fresh.db.insertInto('users').values(userRow('ivan')).execute()
      assert.equal((await migrated.db.selectFrom('users').select('id').execute()).length, 0)
    })
  })
}
