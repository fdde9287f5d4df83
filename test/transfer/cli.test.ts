// `usersvc import` and `usersvc export` as processes, on a SQLite file that a running service
// shares: line numbers, dry runs, re-runs, CSV, standard input, and an export that round-trips.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { promisify } from 'node:util'
import { hash as bcrypt } from '@node-rs/bcrypt'
import { cli, showRun } from '../support/cli.ts'
import { makeApp, ROOT, tempDir } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { login } from '../support/requests.ts'

/** What the progress line starts with: back to the line's start, clear it. */
const CLEAR_LINE = '\r\x1b[K'

const jsonl = (records: unknown[]) =>
  `${records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`

describe('usersvc import / export', () => {
  test('a JSON Lines file: good lines imported, bad ones reported by line number, exit 1; a re-run imports nothing twice', async (t) => {
    const c = await cli(t)
    const dir = await tempDir(t)
    const hash = await bcrypt('imported password', 4)
    const file = join(dir, 'users.jsonl')
    await writeFile(
      file,
      jsonl([
        { login: 'anna', password_hash: hash, email: 'anna@example.com', email_verified: true },
        '{"login": "broken", ',
        '',
        { login: 'boris', password_hash: 'md5$salt$0123' },
        { login: 'clara', password: 'a plaintext password here' },
        { login: 'ANNA', password_hash: hash },
      ]),
    )
    const first = await c.run(['import', file])
    assert.equal(first.code, 1, showRun(first))
    assert.match(first.stdout, /read 5: imported 2, skipped 0 \(existing\), refused 3/)
    assert.match(first.stderr, /^line 2: refused, invalid_json/m)
    assert.match(first.stderr, /^line 4: refused, (weak_hash|malformed_hash)/m)
    assert.match(first.stderr, /^line 6: refused, duplicate_login/m)
    assert.ok(!first.stderr.includes(hash) && !first.stdout.includes(hash), 'no hash printed')

    const again = await c.run(['import', file])
    assert.equal(again.code, 1, showRun(again))
    assert.match(again.stdout, /imported 0, skipped 2 \(existing\), refused 3/)
    assert.match(again.stderr, /^line 1: skipped, login_exists: anna/m)

    const { app } = await makeApp(t, { databaseUrl: c.databaseUrl })
    const anna = await login(app, 'anna', 'imported password')
    assert.equal(anna.statusCode, 200, anna.body)
    assert.equal(anna.json().user.email, 'anna@example.com')
    assert.equal(anna.json().user.email_verified, true)
    assert.equal((await login(app, 'clara', 'a plaintext password here')).statusCode, 200)
    assertProblem(await login(app, 'boris', 'anything'), 401, 'invalid_credentials')
  })

  test('--dry-run checks and counts, and writes nothing', async (t) => {
    const c = await cli(t)
    const dir = await tempDir(t)
    const file = join(dir, 'users.jsonl')
    await writeFile(
      file,
      jsonl([{ login: 'dry', password_hash: await bcrypt('pw', 4) }, { login: 'x' }]),
    )
    const result = await c.run(['import', file, '--dry-run'])
    assert.equal(result.code, 1, showRun(result))
    assert.match(
      result.stdout,
      /would import 1, skipped 0 \(existing\), refused 1 \(dry run: nothing written\)/,
    )
    const { app } = await makeApp(t, { databaseUrl: c.databaseUrl })
    const count = await app.store.db.selectFrom('users').select('id').execute()
    assert.equal(count.length, 0)
  })

  test('CSV with a header row, and JSON Lines from standard input; exit 0 when nothing is refused', async (t) => {
    const c = await cli(t)
    const dir = await tempDir(t)
    const hash = await bcrypt('csv password', 4)
    const csv = join(dir, 'users.csv')
    await writeFile(
      csv,
      `login,email,email_verified,password_hash,registered_at\r\ncsv1,csv1@example.com,true,${hash},2020-01-02T03:04:05Z\r\n"csv,2",,,${hash},\r\n`,
    )
    const fromCsv = await c.run(['import', csv])
    assert.equal(fromCsv.code, 1, showRun(fromCsv))
    assert.match(fromCsv.stdout, /imported 1, skipped 0 \(existing\), refused 1/)
    assert.match(fromCsv.stderr, /^line 3: refused, invalid_login/m)

    const stdin = await c.run(['import', '-'], {
      input: jsonl([{ login: 'piped', password_hash: hash }]),
    })
    assert.equal(stdin.code, 0, showRun(stdin))
    assert.match(stdin.stdout, /imported 1, skipped 0 \(existing\), refused 0/)

    const { app } = await makeApp(t, { databaseUrl: c.databaseUrl })
    const csv1 = await login(app, 'csv1', 'csv password')
    assert.equal(csv1.statusCode, 200, csv1.body)
    assert.equal(csv1.json().user.registered_at, '2020-01-02T03:04:05.000Z')
    assert.equal((await login(app, 'piped', 'csv password')).statusCode, 200)
  })

  test('on a terminal it shows a progress line as batches commit; in a pipe it does not', async (t) => {
    const c = await cli(t)
    const dir = await tempDir(t)
    const hash = await bcrypt('tty password', 4)
    const file = join(dir, 'users.jsonl')
    await writeFile(
      file,
      jsonl(Array.from({ length: 1100 }, (_, i) => ({ login: `tty${i}`, password_hash: hash }))),
    )
    // util-linux script(1) gives the command a pseudo-terminal, as an operator's shell would.
    const command = `${process.execPath} src/cli.ts import ${file}`
    const tty = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...c.env },
    })
    assert.ok(tty.stdout.includes(`${CLEAR_LINE}read 500: imported 500`), 'after the first batch')
    assert.ok(tty.stdout.includes(`${CLEAR_LINE}read 1000: imported 1000`), 'after the second')
    assert.match(tty.stdout, /read 1100: imported 1100, skipped 0 \(existing\), refused 0/)
    const piped = await c.run(['import', file])
    assert.ok(!piped.stderr.includes('\x1b[K'), piped.stderr)
  })

  test('runs while the service runs on the same SQLite file; the running service logs the users in', async (t) => {
    const c = await cli(t)
    const { app } = await makeApp(t, { databaseUrl: c.databaseUrl })
    const dir = await tempDir(t)
    const hash = await bcrypt('live password', 4)
    const file = join(dir, 'users.jsonl')
    await writeFile(
      file,
      jsonl(Array.from({ length: 1200 }, (_, i) => ({ login: `live${i}`, password_hash: hash }))),
    )
    const result = await c.run(['import', file])
    assert.equal(result.code, 0, showRun(result))
    assert.match(result.stdout, /read 1200: imported 1200/)
    assert.equal((await login(app, 'live1199', 'live password')).statusCode, 200)
  })

  test('export writes every user as JSON Lines, 0600, with a warning; imported into a fresh database, every user logs in', async (t) => {
    const c = await cli(t)
    const dir = await tempDir(t)
    const bcryptHash = await bcrypt('kept foreign', 4)
    const file = join(dir, 'in.jsonl')
    await writeFile(
      file,
      jsonl([
        {
          login: 'native',
          password: 'a home-grown passphrase',
          email: 'n@example.com',
          email_verified: true,
          role: 'admin',
        },
        { login: 'foreign', password_hash: bcryptHash },
        {
          login: 'salted',
          password_hash: {
            algorithm: 'pbkdf2-sha256',
            iterations: 1000,
            salt: 'c2FsdA==',
            salt_encoding: 'base64',
            hash: '',
          },
        },
      ]),
    )
    // The pbkdf2 record is refused (empty hash): the export holds the other two.
    await c.run(['import', file])
    const out = join(dir, 'out.jsonl')
    const exported = await c.run(['export', '--out', out])
    assert.equal(exported.code, 0, showRun(exported))
    assert.match(exported.stderr, /warning: .*holds password hashes/)
    assert.match(exported.stderr, /exported 2 users/)
    assert.equal((await stat(out)).mode & 0o777, 0o600)
    const lines = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.deepEqual(
      lines.map((l) => Object.keys(l).sort()),
      [0, 1].map(() => [
        'email',
        'email_verified',
        'id',
        'login',
        'password_hash',
        'registered_at',
        'role',
      ]),
    )
    const native = lines.find((l) => l.login === 'native')
    assert.match(native.password_hash, /^\$argon2id\$/)
    assert.equal(native.email_verified, true)
    assert.equal(native.role, 'admin')
    assert.equal(lines.find((l) => l.login === 'foreign').password_hash, bcryptHash)

    const fresh = await cli(t)
    const back = await fresh.run(['import', out])
    assert.equal(back.code, 0, showRun(back))
    assert.match(back.stdout, /imported 2/)
    const { app } = await makeApp(t, { databaseUrl: fresh.databaseUrl })
    const n = await login(app, 'native', 'a home-grown passphrase')
    assert.equal(n.statusCode, 200, n.body)
    assert.equal(n.json().user.id, native.id, 'ids survive the move')
    assert.equal(n.json().user.role, 'admin')
    assert.equal((await login(app, 'foreign', 'kept foreign')).statusCode, 200)

    // Standard output works too, and an existing file is cut down to 0600.
    const open = join(dir, 'open.jsonl')
    await writeFile(open, 'old', { mode: 0o644 })
    assert.equal((await c.run(['export', '--out', open])).code, 0)
    assert.equal((await stat(open)).mode & 0o777, 0o600)
    const toStdout = await c.run(['export'])
    assert.equal(toStdout.stdout.trim().split('\n').length, 2)
  })
})
