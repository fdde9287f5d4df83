// Storage faults under a running service, made real: the SQLite file unlinked or replaced, a
// full tmpfs, a database file that is read-only even for root (chattr +i), an ext4 file system
// the kernel turns read-only after an error, a PostgreSQL session that may not write. Each time:
// writes are 503 `unavailable` (never 500), a login is the same 503 whatever its password,
// readiness is 503, reads go on; and the faults that can pass do pass, without a restart.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import {
  closeSync,
  copyFileSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import type { App } from '../../src/app.ts'
import { isUnavailable, storageFault } from '../../src/db/errors.ts'
import { sqlitePath } from '../../src/db/sqlite.ts'
import { openStore } from '../../src/db/store.ts'
import { asAppError } from '../../src/http/problems.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, freshDatabaseUrl, type Harness, makeApp, tempDir } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import {
  health,
  jwks,
  login,
  me,
  NOT_READY,
  PASSWORD,
  READY,
  register,
  signUp,
} from '../support/requests.ts'

const run = promisify(execFile)
const WRONG = 'not the password at all, but long enough'

/** A fresh mount point; whatever gets mounted there is detached after the test, even on failure. */
async function mountPoint(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'usersvc-mnt-'))
  t.after(async () => {
    // The app may still hold its files (after-hooks run in order): then a lazy detach, which
    // lets go once they are closed.
    await run('umount', [dir]).catch(() => run('umount', ['-l', dir]).catch(() => {}))
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

async function mountTmpfs(t: TestContext, sizeKib: number): Promise<string> {
  const dir = await mountPoint(t)
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKib}k,mode=0700`, 'tmpfs', dir])
  return dir
}

/** Writes zeros to `path` until the file system says ENOSPC. */
function fill(path: string): void {
  const fd = openSync(path, 'w')
  try {
    for (const size of [1 << 20, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size)
      for (;;) {
        try {
          writeSync(fd, chunk)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break
          throw error
        }
      }
    }
  } finally {
    closeSync(fd)
  }
}

/** The same database, every transaction read-only: what a standby answers to a write. */
function readOnlyUrl(url: string): string {
  return url.replace(
    /options=([^&]*)/,
    (_, options: string) =>
      `options=${encodeURIComponent(`${decodeURIComponent(options)} -c default_transaction_read_only=on`)}`,
  )
}

/** The error `run` throws; fails the test if it throws none. */
function thrown(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  assert.fail('expected an error')
}

function sqliteFiles(databaseUrl: string): string[] {
  const path = sqlitePath(databaseUrl)
  return [path, `${path}-wal`, `${path}-shm`]
}

/** What a client sees of an answer, less what differs per request anyway. */
function seen(res: LightMyRequestResponse) {
  const { 'x-request-id': _id, date: _date, ...headers } = res.headers
  return { status: res.statusCode, headers, body: res.body }
}

function assertRefused(res: LightMyRequestResponse, what: string): void {
  assertProblem(res, 503, 'unavailable', what)
  assert.equal(res.headers['retry-after'], '1', what)
}

async function assertNotReady(app: App, what: string): Promise<void> {
  const res = await health(app, 'ready')
  assert.equal(res.statusCode, 503, `${what}: ${res.body}`)
  assert.deepEqual(res.json(), NOT_READY, what)
}

/**
 * Every write is refused and a login is one 503 whatever the password: the same status, headers
 * and body, so the refusal tells nothing about the password. Readiness is 503.
 */
async function assertWritesRefused(app: App, loginName: string, what: string): Promise<void> {
  assertRefused(await register(app, `new-${Date.now()}`), `${what}: POST /user/`)
  const right = await login(app, loginName, PASSWORD)
  const wrong = await login(app, loginName, WRONG)
  assertRefused(right, `${what}: login with the right password`)
  assertRefused(wrong, `${what}: login with a wrong password`)
  assert.deepEqual(seen(right), seen(wrong), `${what}: right and wrong password answered alike`)
  await assertNotReady(app, what)
}

/** Readiness 200 again (a probe write went through), then writes and logins as usual. */
async function assertRecovered(app: App, loginName: string, what: string): Promise<void> {
  await eventually(
    async () => {
      const res = await health(app, 'ready')
      return res.statusCode === 200 ? res : undefined
    },
    { what: `readiness 200 ${what}` },
  )
  assert.deepEqual((await health(app, 'ready')).json(), READY, what)
  const created = await register(app, `back-${Date.now()}`)
  assert.equal(created.statusCode, 201, `${what}: ${created.body}`)
  assert.equal((await login(app, loginName, PASSWORD)).statusCode, 200, what)
  assertProblem(await login(app, loginName, WRONG), 401, 'invalid_credentials', what)
}

function logged(h: Harness, match: (line: Record<string, unknown>) => boolean): boolean {
  return h.logs.some((line) => match(JSON.parse(line) as Record<string, unknown>))
}

test('storage faults reported by SQLite itself are 503 unavailable, other errors are not', async (t) => {
  const dir = await mountTmpfs(t, 1024)
  const path = join(dir, 'x.db')
  const db = new DatabaseSync(path)
  db.exec('create table t (x); insert into t values (randomblob(2000)), (randomblob(2000))')
  db.close()
  // A page in the middle overwritten: the header still says "SQLite", the b-tree is garbage.
  const fd = openSync(path, 'r+')
  writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, 4096)
  closeSync(fd)
  writeFileSync(join(dir, 'text.db'), 'not a database at all, only text. '.repeat(200))
  const readOnly = new DatabaseSync(path, { readOnly: true })
  const text = new DatabaseSync(join(dir, 'text.db'))
  const full = new DatabaseSync(join(dir, 'full.db'))
  t.after(() => {
    for (const open of [readOnly, text, full]) if (open.isOpen) open.close()
  })

  const cases: Array<[string, () => unknown, string | undefined]> = [
    ['write to a read-only open', () => readOnly.exec('create table u (x)'), 'read-only'],
    ['a corrupt page', () => readOnly.prepare('select sum(length(x)) from t').get(), 'corrupt'],
    ['not a database', () => text.exec('select 1 from t'), 'not a database'],
    ['no such directory', () => new DatabaseSync(join(dir, 'none', 'x.db')), 'cannot open'],
    ['a syntax error', () => readOnly.exec('selec 1'), undefined],
    ['a missing table', () => readOnly.exec('select * from nothing'), undefined],
  ]
  full.exec('pragma journal_mode = wal; create table t (x primary key)')
  full.exec('insert into t values (1)')
  fill(join(dir, 'filler'))
  cases.push(['a full disk', () => full.exec('insert into t values (randomblob(8000))'), 'full'])
  cases.push(['a duplicate key', () => full.exec('insert into t values (1)'), undefined])

  for (const [what, run, expected] of cases) {
    const error = thrown(run)
    assert.equal(storageFault(error), expected, `${what}: ${String(error)}`)
    if (expected === undefined) continue
    assert.equal(isUnavailable(error), true, what)
    const answer = asAppError(error)
    assert.equal(answer.status, 503, what)
    assert.equal(answer.code, 'unavailable', what)
    assert.deepEqual(answer.headers, { 'retry-after': '1' }, what)
  }
})

test('PostgreSQL storage faults by SQLSTATE: disk full, I/O error, read-only', () => {
  const cases: Array<[string, string, string | undefined, boolean]> = [
    ['disk_full', '53100', 'full', true],
    ['io_error', '58030', 'I/O error', true],
    ['read_only_sql_transaction', '25006', 'read-only', true],
    // Class 53 is 503 all through, but only a full disk is a fault of the storage.
    ['out_of_memory', '53200', undefined, true],
    ['too_many_connections', '53300', undefined, true],
    ['unique_violation', '23505', undefined, false],
    ['data_corrupted (class XX: internal)', 'XX001', undefined, false],
  ]
  for (const [what, code, fault, unavailable] of cases) {
    assert.equal(storageFault({ code }), fault, what)
    assert.equal(isUnavailable({ code }), unavailable, what)
  }
})

describe('storage faults (SQLite)', () => {
  test('the database file unlinked under the service: writes refused until restart, reads go on', async (t) => {
    const h = await makeApp(t)
    const { app } = h
    const alice = await signUp(app, 'alice')

    for (const file of sqliteFiles(h.databaseUrl)) rmSync(file, { force: true })

    await assertWritesRefused(app, 'alice', 'file unlinked')
    // Reads are served from the file still open.
    const res = await me(app, alice.access_token)
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().login, 'alice')
    assert.ok((await jwks(app)).keys.length > 0)
    // No probe write brings it back: what it would write is lost at the next restart.
    await sleep(1200)
    await assertWritesRefused(app, 'alice', 'file unlinked, a second later')
    assert.ok(
      logged(h, (l) => l.reason === 'unlinked' && /until restart/.test(String(l.msg))),
      h.logs.join('\n'),
    )
  })

  test('the WAL alone unlinked: writes refused until restart', async (t) => {
    // The latest commits live in the WAL until a checkpoint: written to an unlinked one, they
    // are gone if the process dies, and other processes on the file never see them.
    const h = await makeApp(t)
    const { app } = h
    await signUp(app, 'alice')
    const [path, wal = ''] = sqliteFiles(h.databaseUrl)
    rmSync(wal)

    await assertWritesRefused(app, 'alice', 'WAL unlinked')
    assert.ok(
      logged(h, (l) => l.reason === 'unlinked' && l.path === wal && l.path !== path),
      h.logs.join('\n'),
    )
  })

  test('no false alarm: another process writing to the file and leaving it changes nothing', async (t) => {
    // A CLI command or a second instance opens the file, writes, closes: the file and its WAL
    // stay the ones the service has open (SQLite removes the WAL only with the last connection).
    const h = await makeApp(t)
    const { app } = h
    await signUp(app, 'alice')
    const script = `
      const { DatabaseSync } = await import('node:sqlite')
      const db = new DatabaseSync(process.argv[1], { timeout: 5000 })
      db.exec('create table another_process (x); insert into another_process values (1)')
      db.close()`
    await run(process.execPath, ['--input-type=module', '-e', script, sqlitePath(h.databaseUrl)])
    await sleep(1100) // a probe is due
    assert.deepEqual((await health(app, 'ready')).json(), READY)
    assert.equal((await register(app, 'bob')).statusCode, 201)
    assert.equal((await login(app, 'alice')).statusCode, 200)
    assert.ok(!logged(h, (l) => Number(l.level) >= 40), h.logs.join('\n'))
  })

  test('another file put in its place: writes refused until restart', async (t) => {
    const h = await makeApp(t)
    const { app } = h
    await signUp(app, 'alice')
    const [path = ''] = sqliteFiles(h.databaseUrl)
    // A restore done the usual way: a copy moved over the path (another inode, a valid database).
    copyFileSync(path, `${path}.restored`)
    renameSync(`${path}.restored`, path)

    await assertWritesRefused(app, 'alice', 'file replaced')
    await sleep(1200)
    await assertWritesRefused(app, 'alice', 'file replaced, a second later')
    assert.ok(
      logged(h, (l) => l.reason === 'replaced' && /until restart/.test(String(l.msg))),
      h.logs.join('\n'),
    )
  })

  test('a full disk (tmpfs): 503 and readiness 503 without a write; recovers once space is freed', async (t) => {
    const dir = await mountTmpfs(t, 2048)
    const h = await makeApp(t, { databaseUrl: `sqlite:${join(dir, 'usersvc.db')}` })
    const { app } = h
    const alice = await signUp(app, 'alice')

    const filler = join(dir, 'filler')
    fill(filler)
    // The probe write finds out by itself within a second or so: no request has to fail first.
    await eventually(
      async () => {
        const res = await health(app, 'ready')
        return res.statusCode === 503 ? res : undefined
      },
      { what: 'readiness 503 on a full disk' },
    )
    await assertWritesRefused(app, 'alice', 'disk full')
    assert.equal((await me(app, alice.access_token)).statusCode, 200)
    assert.ok(
      logged(h, (l) => l.reason === 'full' && l.level === 40),
      h.logs.join('\n'),
    )

    rmSync(filler)
    await assertRecovered(app, 'alice', 'after space was freed')
  })

  test('a write that meets the full disk first is a 503, not a 500', async (t) => {
    const dir = await mountTmpfs(t, 2048)
    const h = await makeApp(t, { databaseUrl: `sqlite:${join(dir, 'usersvc.db')}` })
    const { app } = h
    await signUp(app, 'alice')
    fill(join(dir, 'filler'))
    // Right away: unless a second has passed since the last probe, no probe runs, and the
    // registration's own INSERT meets the full disk.
    assertRefused(await register(app, 'bob'), 'POST /user/ on a full disk')
    await assertWritesRefused(app, 'alice', 'disk full')
    assert.ok(!logged(h, (l) => l.level === 50), h.logs.join('\n'))
  })

  test('a database file read-only even for root (chattr +i): 503, recovers once writable', async (t) => {
    const dir = await mountTmpfs(t, 8192)
    const databaseUrl = `sqlite:${join(dir, 'usersvc.db')}`
    const [path = ''] = sqliteFiles(databaseUrl)
    const first = await makeApp(t, { databaseUrl })
    const alice = await signUp(first.app, 'alice')
    await first.app.close()

    // As after a restore with the wrong owner: SQLite opens the file read-only and says so
    // only when something is written.
    await run('chattr', ['+i', path])
    t.after(() => run('chattr', ['-i', path]).catch(() => {}))
    const h = await makeApp(t, { databaseUrl })
    const { app } = h

    await assertWritesRefused(app, 'alice', 'read-only file')
    assert.equal((await me(app, alice.access_token)).statusCode, 200)
    assert.ok(
      logged(h, (l) => l.reason === 'read-only' && l.level === 40),
      h.logs.join('\n'),
    )

    await run('chattr', ['-i', path])
    await assertRecovered(app, 'alice', 'once the file is writable again')
  })

  test('ext4 turned read-only by the kernel after an error: writes 503, readiness 503', async (t) => {
    const image = join(await tempDir(t), 'ext4.img')
    await run('truncate', ['-s', '32M', image])
    await run('mkfs.ext4', ['-q', '-F', image])
    const dir = await mountPoint(t)
    await run('mount', ['-o', 'loop,errors=remount-ro', image, dir])
    const { stdout } = await run('findmnt', ['-n', '-o', 'SOURCE', dir])
    const device = basename(stdout.trim())
    const h = await makeApp(t, { databaseUrl: `sqlite:${join(dir, 'usersvc.db')}` })
    const { app } = h
    const alice = await signUp(app, 'alice')

    // What ext4 does on a metadata error with errors=remount-ro: from now on it writes nothing.
    await run('sh', ['-c', `echo 1 > /sys/fs/ext4/${device}/trigger_fs_error`])

    await eventually(
      async () => {
        const res = await health(app, 'ready')
        return res.statusCode === 503 ? res : undefined
      },
      { what: 'readiness 503 on a read-only ext4' },
    )
    await assertWritesRefused(app, 'alice', 'ext4 read-only')
    assert.equal((await me(app, alice.access_token)).statusCode, 200)
    assert.ok(
      logged(h, (l) => l.reason === 'I/O error' && l.level === 40),
      h.logs.join('\n'),
    )
  })
})

if (dialects().includes('postgres')) {
  describe('storage faults (PostgreSQL)', () => {
    test('a session that may not write (read-only transactions): 503, readiness 503', async (t) => {
      const url = await freshDatabaseUrl(t, 'postgres')
      const first = await makeApp(t, { dialect: 'postgres', databaseUrl: url })
      await signUp(first.app, 'alice')
      await first.app.close()

      // The real error first: what PostgreSQL says, and what becomes of it.
      const store = openStore(readOnlyUrl(url))
      t.after(() => store.destroy())
      const error = await sql`delete from users`.execute(store.db).then(
        () => assert.fail('a read-only session wrote'),
        (e: unknown) => e,
      )
      assert.equal((error as { code?: unknown }).code, '25006', String(error))
      assert.equal(storageFault(error), 'read-only')
      assert.equal(asAppError(error).status, 503)

      // The same schema, every transaction read-only: what a standby, or a database set
      // read-only by its operator, answers to a write (SQLSTATE 25006).
      const h = await makeApp(t, { dialect: 'postgres', databaseUrl: readOnlyUrl(url) })
      const { app } = h
      assertRefused(await register(app, 'bob'), 'POST /user/ on a read-only session')
      await assertWritesRefused(app, 'alice', 'read-only PostgreSQL')
      assert.ok(
        logged(h, (l) => l.reason === 'read-only' && l.level === 40),
        h.logs.join('\n'),
      )
      assert.ok(!logged(h, (l) => l.level === 50), h.logs.join('\n'))
    })
  })
}
