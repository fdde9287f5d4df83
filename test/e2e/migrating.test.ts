// README "Migrating to usersvc": every `<!-- example: NAME -->` block is run as written, with
// `bash -euo pipefail -c`, in a folder holding what that source system really has (hashes made by
// the real library: Django, Werkzeug, Ruby's bcrypt format, passlib, Firebase's published scrypt
// vector, a PHP-style salted MD5, the seeds' pickle, and another usersvc). Then every migrated
// user logs in with the old password (and not with a wrong one), and that first login leaves an
// argon2id hash in place of the foreign one.
//
// What the blocks run by name, and what stands for it here (a temp bin/ first on PATH):
//  - `npx usersvc …` is this checkout's bin/usersvc.js on the Node 24 running these tests, with
//    DATABASE_URL set to the test's own fresh SQLite file (and cheap argon2id);
//  - `python3` is Debian's /usr/bin/python3, which has python3-django, -werkzeug, -passlib,
//    -bcrypt and -argon2 (the python3 first on this machine's PATH is another interpreter);
//  - `firebase` (the Firebase CLI, which reads from Google's cloud) writes the export that
//    `firebase auth:export` would: Firebase's published scrypt test user;
//  - `sqlite3`, `psql` and `jq` are the machine's (scripts/test-setup.sh installs them).
// Every block runs with TZ=America/New_York, so a date-time read as local time shows.
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { promisify } from 'node:util'
import pg from 'pg'
import type { App } from '../../src/app.ts'
import { readStoredDigest } from '../../src/passwords/foreign/digest.ts'
import { loginKey } from '../../src/users/login-name.ts'
import { cli, showRun } from '../support/cli.ts'
import {
  type DialectName,
  dialects,
  FAST_ARGON2,
  freshDatabaseUrl,
  makeApp,
  ROOT,
  tempDir,
} from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { login } from '../support/requests.ts'

const PYTHON = '/usr/bin/python3'
/** What no migrated user's password is. */
const WRONG = 'certainly not the old password'
/** The zone every block runs in: not UTC, so a zone-less date-time would come out wrong. */
const TZ = 'America/New_York'
/** The examples of the README, in its order: each has a test below. */
const EXAMPLES = ['django', 'flask', 'rails', 'passlib', 'firebase', 'digest', 'pickle', 'usersvc']

const execFileAsync = promisify(execFile)

/** The block after `<!-- example: NAME -->` in README.md, as written. */
async function example(name: string): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const block = new RegExp(`<!-- example: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\n`).exec(
    readme,
  )?.[1]
  assert.ok(block, `README.md has no sh block after <!-- example: ${name} -->`)
  return block
}

/** Single-quoted for sh. */
const quoted = (s: string) => `'${s.replaceAll("'", "'\\''")}'`

/** Python run by Debian's interpreter (the one with the libraries), in `cwd`. */
async function python(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(PYTHON, args, {
    cwd,
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' },
  })
  return stdout
}

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}
const show = (r: Ran) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`

/**
 * A bin/ to put first on PATH: `npx` (usersvc only), `python3`, and more stand-ins.
 * Returns its path.
 */
async function binDir(t: TestContext, extra: Record<string, string> = {}): Promise<string> {
  const bin = join(await tempDir(t), 'bin')
  await mkdir(bin)
  await symlink(PYTHON, join(bin, 'python3'))
  const scripts: Record<string, string> = {
    // Stands for `npx` in a checkout of usersvc, where `npx usersvc` runs bin/usersvc.js on the
    // Node 24 that npm puts first on PATH.
    npx: `#!/bin/sh
[ "$1" = usersvc ] || { echo "npx: only usersvc here, not $1" >&2; exit 127; }
shift
exec ${quoted(process.execPath)} ${quoted(join(ROOT, 'bin', 'usersvc.js'))} "$@"
`,
    ...extra,
  }
  for (const [name, text] of Object.entries(scripts)) {
    await writeFile(join(bin, name), text)
    await chmod(join(bin, name), 0o755)
  }
  return bin
}

/** Runs a README block as written in `cwd`, with the stand-ins first on PATH. */
async function runExample(
  t: TestContext,
  name: string,
  cwd: string,
  env: Record<string, string>,
  stand?: Record<string, string>,
): Promise<Ran> {
  const script = await example(name)
  const bin = await binDir(t, stand)
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd,
      env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, TZ, ...FAST_ARGON2, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** The users row's stored hash, by login. */
async function storedHash(app: App, name: string): Promise<string> {
  const row = await app.store.db
    .selectFrom('users')
    .select('password_hash')
    .where('login_key', '=', loginKey(name))
    .executeTakeFirstOrThrow()
  return row.password_hash
}

/** A stored salted digest (`$usersvc-digest$…`) of `algorithm`, with these fields. */
const digest =
  (algorithm: string, fields: Record<string, unknown> = {}) =>
  (stored: string) => {
    const json = readStoredDigest(stored)
    return json?.algorithm === algorithm && Object.entries(fields).every(([k, v]) => json[k] === v)
  }

interface Migrated {
  login: string
  password: string
  /** The hash as imported: the prefix of the source system's own format, or a digest's check. */
  imported: string | ((stored: string) => boolean)
  role?: 'user' | 'admin'
  email?: string | null
  registeredAt?: string
}

/**
 * On the target database: each user's imported hash is as the source wrote it; a wrong password
 * is refused and leaves it; the old password logs in (with the user's role, address and date) and
 * leaves argon2id, with which the user logs in again.
 */
async function assertMigrated(t: TestContext, databaseUrl: string, users: Migrated[]) {
  const { app } = await makeApp(t, { databaseUrl })
  for (const user of users) {
    const before = await storedHash(app, user.login)
    const as = typeof user.imported === 'string' ? user.imported : user.imported.toString()
    assert.ok(
      typeof user.imported === 'string' ? before.startsWith(user.imported) : user.imported(before),
      `${user.login}: imported as ${before}, not ${as}`,
    )

    assertProblem(await login(app, user.login, WRONG), 401, 'invalid_credentials')
    assert.equal(await storedHash(app, user.login), before, `${user.login}: a wrong password`)

    const first = await login(app, user.login, user.password)
    assert.equal(first.statusCode, 200, `${user.login}: ${first.body}`)
    const answered = first.json().user
    assert.equal(answered.role, user.role ?? 'user', user.login)
    if (user.email !== undefined) assert.equal(answered.email, user.email, user.login)
    if (user.registeredAt) assert.equal(answered.registered_at, user.registeredAt, user.login)

    const after = await storedHash(app, user.login)
    assert.ok(after.startsWith('$argon2id$'), `${user.login}: after the first login, ${after}`)
    assert.equal((await login(app, user.login, user.password)).statusCode, 200, user.login)
    assertProblem(await login(app, user.login, WRONG), 401, 'invalid_credentials')
  }
}

/** The user count of the target database. */
async function userCount(t: TestContext, databaseUrl: string): Promise<number> {
  const { app } = await makeApp(t, { databaseUrl })
  return (await app.store.db.selectFrom('users').select('id').execute()).length
}

const imported = (read: number, imported: number, refused = 0) =>
  new RegExp(
    `^read ${read}: imported ${imported}, skipped 0 \\(existing\\), refused ${refused}$`,
    'm',
  )

describe('README: Migrating to usersvc, each example run as written', () => {
  test('every example in the README is one this file runs, and each is a sh block', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const markers = [...readme.matchAll(/<!-- example: ([\w-]+) -->/g)].map((m) => m[1])
    assert.deepEqual(markers, EXAMPLES)
    for (const name of EXAMPLES) assert.ok((await example(name)).includes('npx usersvc'), name)
  })

  test('From Django: a project’s users under five hashers, the superuser an admin; an unusable password refused', async (t) => {
    const project = await tempDir(t)
    await mkdir(join(project, 'mysite'))
    await writeFile(join(project, 'mysite', '__init__.py'), '')
    await writeFile(
      join(project, 'mysite', 'settings.py'),
      `from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "only-for-this-test"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
`,
    )
    await writeFile(
      join(project, 'manage.py'),
      `#!/usr/bin/env python3
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
`,
    )
    await python(project, ['manage.py', 'migrate', '-v', '0'])
    // [login, email, Django hasher (None: the default, the first of PASSWORD_HASHERS), password]
    const users = [
      ['alice', 'alice@example.com', null, 'alice in wonderland'],
      ['bob', '', 'pbkdf2_sha1', 'bobs old sha1 password'],
      ['carol', 'carol@example.com', 'argon2', 'naïve café passwörd'],
      ['dave', 'dave@example.com', 'bcrypt_sha256', 'dave’s bcrypt sha256'],
      ['erin', 'erin@example.com', 'bcrypt', 'hunter2'],
    ]
    await python(project, [
      'manage.py',
      'shell',
      '-c',
      `import datetime, json
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
User = get_user_model()
for login, email, hasher, password in json.loads(${JSON.stringify(JSON.stringify(users))}):
    user = User.objects.create_user(login, email, password)
    if hasher:
        user.password = make_password(password, hasher=hasher)
    if login == "alice":
        user.date_joined = datetime.datetime(2019, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc)
    user.save()
User.objects.create_superuser("root", "root@example.com", "the superusers password")
User.objects.create_user("ghost", "ghost@example.com")  # no password: unusable ("!…")
`,
    ])
    const c = await cli(t)
    const r = await runExample(t, 'django', project, c.env)
    // The unusable password is refused, as the README says: the import's exit status is 1.
    assert.equal(r.code, 1, show(r))
    assert.match(r.stdout, imported(7, 6, 1), show(r))
    assert.match(r.stderr, /^line 7: refused, unusable_password/m, show(r))
    await assertMigrated(t, c.databaseUrl, [
      {
        login: 'alice',
        password: 'alice in wonderland',
        imported: 'pbkdf2_sha256$',
        email: 'alice@example.com',
        registeredAt: '2019-05-06T07:08:09.123Z',
      },
      { login: 'bob', password: 'bobs old sha1 password', imported: 'pbkdf2_sha1$', email: null },
      { login: 'carol', password: 'naïve café passwörd', imported: 'argon2$argon2id$' },
      { login: 'dave', password: 'dave’s bcrypt sha256', imported: 'bcrypt_sha256$$2b$' },
      { login: 'erin', password: 'hunter2', imported: 'bcrypt$$2b$' },
      {
        login: 'root',
        password: 'the superusers password',
        imported: 'pbkdf2_sha256$',
        role: 'admin',
      },
    ])
    const { app } = await makeApp(t, { databaseUrl: c.databaseUrl })
    const ghost = await app.store.db
      .selectFrom('users')
      .select('id')
      .where('login_key', '=', 'ghost')
      .execute()
    assert.deepEqual(ghost, [])
  })

  test('From Flask: Werkzeug’s generate_password_hash in instance/app.db, read by sqlite3 as CSV', async (t) => {
    const app = await tempDir(t)
    await python(app, [
      '-c',
      `import os, sqlite3
from werkzeug.security import generate_password_hash
os.mkdir("instance")
db = sqlite3.connect("instance/app.db")
db.execute("CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(80) UNIQUE NOT NULL, "
           "email VARCHAR(120), password_hash VARCHAR(256))")
db.executemany("INSERT INTO user (username, email, password_hash) VALUES (?, ?, ?)", [
    ("frank", "frank@example.com", generate_password_hash("franks flask password")),
    ("grace", None, generate_password_hash("grace, sha512", method="pbkdf2:sha512")),
    ("heidi", "heidi@example.com", generate_password_hash("heidi 1000", method="pbkdf2:sha1:1000")),
])
db.commit()
`,
    ])
    const c = await cli(t)
    const r = await runExample(t, 'flask', app, c.env)
    assert.equal(r.code, 0, show(r))
    assert.match(r.stdout, imported(3, 3), show(r))
    await assertMigrated(t, c.databaseUrl, [
      {
        login: 'frank',
        password: 'franks flask password',
        // Werkzeug 2.2's default: PBKDF2-SHA256, 260000 iterations.
        imported: 'pbkdf2:sha256:260000$',
        email: 'frank@example.com',
      },
      { login: 'grace', password: 'grace, sha512', imported: 'pbkdf2:sha512:', email: null },
      { login: 'heidi', password: 'heidi 1000', imported: 'pbkdf2:sha1:1000$' },
    ])
  })

  test('From Rails: Devise’s bcrypt in PostgreSQL, \\copy to CSV; created_at keeps its instant whatever the zones', async (t) => {
    // Its own throwaway schema on the test PostgreSQL; psql reads the same URL (options=-c
    // search_path=…).
    const railsUrl = await freshDatabaseUrl(t, 'postgres')
    const dir = await tempDir(t)
    // Ruby's bcrypt gem (which Devise uses) writes `$2a$` (BCrypt::Engine.generate_salt); the
    // Python bcrypt library makes the same hash when asked for that prefix. Cost 4: Devise's
    // test-environment stretches, rounded up to bcrypt's minimum.
    const users = [
      ['ivan@example.com', 'ivans rails password', '2021-03-04 05:06:07.123456'],
      ['judy@example.com', 'devise defaults to bcrypt', '2023-11-12 23:59:58'],
    ]
    const hashes: string[] = JSON.parse(
      await python(dir, [
        '-c',
        `import bcrypt, json, sys
print(json.dumps([bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=4, prefix=b"2a")).decode()
                  for pw in json.loads(sys.argv[1])]))`,
        JSON.stringify(users.map((u) => u[1])),
      ]),
    )
    const client = new pg.Client({ connectionString: railsUrl })
    await client.connect()
    try {
      // As Rails' schema.rb makes it: created_at is `timestamp(6) without time zone`, in UTC.
      await client.query(
        `CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL DEFAULT '',
           encrypted_password text NOT NULL DEFAULT '', created_at timestamp(6) NOT NULL)`,
      )
      for (const [i, [email, , createdAt]] of users.entries()) {
        await client.query(
          'INSERT INTO users (email, encrypted_password, created_at) VALUES ($1, $2, $3)',
          [email, hashes[i], createdAt],
        )
      }
    } finally {
      await client.end()
    }
    const c = await cli(t)
    // psql's session in a zone of its own, and the CLI (TZ) in another: neither may shift a date.
    const r = await runExample(t, 'rails', dir, {
      ...c.env,
      RAILS_DATABASE_URL: railsUrl,
      PGTZ: 'Asia/Kolkata',
    })
    assert.equal(r.code, 0, show(r))
    assert.match(r.stdout, imported(2, 2), show(r))
    assert.match(
      await readFile(join(dir, 'users.csv'), 'utf8'),
      /^ivan@example\.com,ivan@example\.com,\$2a\$04\$\S+,2021-03-04 10:36:07\.123456\+05:30$/m,
    )
    await assertMigrated(t, c.databaseUrl, [
      {
        login: 'ivan@example.com',
        password: 'ivans rails password',
        imported: '$2a$04$',
        email: 'ivan@example.com',
        registeredAt: '2021-03-04T05:06:07.123Z',
      },
      {
        login: 'judy@example.com',
        password: 'devise defaults to bcrypt',
        imported: '$2a$04$',
        registeredAt: '2023-11-12T23:59:58.000Z',
      },
    ])
  })

  test('From a passlib application: pbkdf2_sha256, pbkdf2_sha512, pbkdf2_sha1, scrypt and bcrypt', async (t) => {
    const dir = await tempDir(t)
    const users = [
      ['kate', 'pbkdf2_sha256', 'kates passlib password', '$pbkdf2-sha256$'],
      ['leo', 'pbkdf2_sha512', 'leo uses sha512', '$pbkdf2-sha512$'],
      ['mia', 'pbkdf2_sha1', 'mia has sha1', '$pbkdf2$'],
      ['nick', 'scrypt', 'nicks scrypt password', '$scrypt$'],
      ['olga', 'bcrypt', 'olga’s bcrypt', '$2b$'],
    ] as const
    await python(dir, [
      '-c',
      `import json, sqlite3, sys
from passlib import hash as passlib_hash
db = sqlite3.connect("accounts.db")
db.execute("CREATE TABLE accounts (name TEXT PRIMARY KEY, pwhash TEXT NOT NULL)")
for name, scheme, password, _ in json.loads(sys.argv[1]):
    db.execute("INSERT INTO accounts VALUES (?, ?)", (name, getattr(passlib_hash, scheme).hash(password)))
db.commit()
`,
      JSON.stringify(users),
    ])
    const c = await cli(t)
    const r = await runExample(t, 'passlib', dir, c.env)
    assert.equal(r.code, 0, show(r))
    assert.match(r.stdout, imported(5, 5), show(r))
    await assertMigrated(
      t,
      c.databaseUrl,
      users.map(([name, , password, prefix]) => ({ login: name, password, imported: prefix })),
    )
  })

  test('From Firebase: auth:export’s JSON through jq, with the project’s hash config (the published scrypt vector)', async (t) => {
    const dir = await tempDir(t)
    const fixtures = await tempDir(t)
    // Firebase's own test vector (github.com/firebase/scrypt, README): the project's hash config
    // and a user whose password is `user1password`.
    const signerKey =
      'jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=='
    const exported = {
      users: [
        {
          localId: 'Vc1dImJyU0dPTnG1WAOHP3Y3Ai43',
          email: 'paul@example.com',
          emailVerified: true,
          passwordHash:
            'lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==',
          salt: '42xEC+ixf3L2lw==',
          lastSignedInAt: '1700000000000',
          createdAt: '1577836800123',
          providerUserInfo: [
            { providerId: 'password', email: 'paul@example.com', rawId: 'paul@example.com' },
          ],
        },
        // Signed in with Google only: no password to move (the jq filter leaves it out).
        {
          localId: 'k2yTQ2VxeTL7c4qQnKPbh1uoNW83',
          email: 'quentin@example.com',
          emailVerified: true,
          createdAt: '1600000000000',
          providerUserInfo: [{ providerId: 'google.com', email: 'quentin@example.com' }],
        },
      ],
    }
    const exportFile = join(fixtures, 'firebase-export.json')
    await writeFile(exportFile, JSON.stringify(exported, null, 2))
    const project = 'usersvc-migration-test'
    const c = await cli(t)
    const r = await runExample(
      t,
      'firebase',
      dir,
      { ...c.env, FIREBASE_PROJECT: project, FIREBASE_SIGNER_KEY: signerKey },
      {
        // Stands for the Firebase CLI, whose auth:export reads the project's users from Google's
        // cloud: it writes that export (the file above) where it is told to.
        firebase: `#!/bin/sh
if [ "$1" = auth:export ] && [ "$3" = --format=json ] && [ "$4" = --project ] && [ "$5" = ${quoted(project)} ] && [ $# -eq 5 ]; then
  exec cp ${quoted(exportFile)} "$2"
fi
echo "firebase: not as the README runs it: $*" >&2
exit 2
`,
      },
    )
    assert.equal(r.code, 0, show(r))
    assert.match(r.stdout, imported(1, 1), show(r))
    await assertMigrated(t, c.databaseUrl, [
      {
        login: 'paul@example.com',
        password: 'user1password',
        imported: digest('firebase-scrypt', { salt: '42xEC+ixf3L2lw==' }),
        email: 'paul@example.com',
        registeredAt: '2020-01-01T00:00:00.000Z',
      },
    ])
    assert.equal(await userCount(t, c.databaseUrl), 1)
  })

  test('From a hand-rolled salted digest: md5($salt . $password) from sqlite3’s json_object, only with --allow-weak', async (t) => {
    const dir = await tempDir(t)
    const users = [
      ['quinn', 'quinn@example.com', 'quinns php password'],
      ['rita', 'rita@example.com', 'rita123'],
    ]
    await python(dir, [
      '-c',
      `import hashlib, json, os, sqlite3, sys
db = sqlite3.connect("legacy.db")
db.execute("CREATE TABLE members (login TEXT, email TEXT, salt TEXT, pass TEXT)")
for login, email, password in json.loads(sys.argv[1]):
    salt = os.urandom(6).hex()
    db.execute("INSERT INTO members VALUES (?, ?, ?, ?)",
               (login, email, salt, hashlib.md5((salt + password).encode()).hexdigest()))
db.commit()
`,
      JSON.stringify(users),
    ])
    const c = await cli(t)
    const r = await runExample(t, 'digest', dir, c.env)
    assert.equal(r.code, 0, show(r))
    assert.match(r.stdout, imported(2, 2), show(r))
    assert.match(r.stderr, /warning: 2 came with a weak hash/, show(r))
    // The same file without --allow-weak: MD5 is refused, line by line.
    const strict = await c.run(['import', join(dir, 'users.jsonl'), '--dry-run'])
    assert.equal(strict.code, 1, showRun(strict))
    assert.match(strict.stderr, /^line 1: refused, weak_hash/m, showRun(strict))
    await assertMigrated(
      t,
      c.databaseUrl,
      users.map(([name, email, password]) => ({
        login: name as string,
        password: password as string,
        imported: digest('md5', { template: '{salt}{password}', encoding: 'hex' }),
        email: email as string,
      })),
    )
  })

  test('From the seeds’ Flask services: a pickle of login → PBKDF2-SHA256 hash, hex salt, date', async (t) => {
    const dir = await tempDir(t)
    const users = [
      ['sam', 'sams seed password', [2020, 2, 3, 4, 5, 6]],
      ['tina', 'tina likes pickles', [2021, 12, 31, 23, 59, 59]],
    ]
    // As the seeds wrote it: hashlib.pbkdf2_hmac over bytes.fromhex(salt), the hex digest kept
    // beside its hex salt and a naive datetime.
    await python(dir, [
      '-c',
      `import datetime, hashlib, json, os, pickle, sys
users = {}
for login, password, date in json.loads(sys.argv[1]):
    salt = os.urandom(16).hex()
    users[login] = {
        "hash": hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 100000).hex(),
        "salt": salt,
        "date": datetime.datetime(*date),
    }
with open("users.pkl", "wb") as f:
    pickle.dump(users, f)
`,
      JSON.stringify(users),
    ])
    const c = await cli(t)
    const r = await runExample(t, 'pickle', dir, c.env)
    assert.equal(r.code, 0, show(r))
    assert.match(r.stdout, imported(2, 2), show(r))
    await assertMigrated(t, c.databaseUrl, [
      {
        login: 'sam',
        password: 'sams seed password',
        imported: digest('pbkdf2-sha256', { iterations: 100000, salt_encoding: 'hex' }),
        registeredAt: '2020-02-03T04:05:06.000Z',
      },
      {
        login: 'tina',
        password: 'tina likes pickles',
        imported: digest('pbkdf2-sha256', { iterations: 100000, salt_encoding: 'hex' }),
        registeredAt: '2021-12-31T23:59:59.000Z',
      },
    ])
  })

  for (const dialect of dialects()) {
    test(`From another usersvc (SQLite) to a new one on ${dialect}: export, import; ids kept, each logs in`, async (t) => {
      await fromUsersvc(t, dialect)
    })
  }
})

async function fromUsersvc(t: TestContext, dialect: DialectName) {
  // The old service: one user imported with a plaintext password (argon2id already), one with
  // a bcrypt hash (still foreign: it has not logged in yet).
  const old = await cli(t)
  const seed = join(await tempDir(t), 'seed.jsonl')
  const bcryptHash = (
    await python(ROOT, [
      '-c',
      'import bcrypt; print(bcrypt.hashpw(b"victors bcrypt password", bcrypt.gensalt(rounds=4)).decode())',
    ])
  ).trim()
  await writeFile(
    seed,
    `${JSON.stringify({ login: 'uma', password: 'a long passphrase of hers', email: 'uma@example.com', email_verified: true })}\n${JSON.stringify({ login: 'victor', password_hash: bcryptHash, registered_at: '2018-07-08T09:10:11Z' })}\n`,
  )
  const seeded = await old.run(['import', seed])
  assert.equal(seeded.code, 0, showRun(seeded))
  const { app: oldApp } = await makeApp(t, { databaseUrl: old.databaseUrl })
  const oldRows = await oldApp.store.db
    .selectFrom('users')
    .select(['id', 'login_key', 'password_hash'])
    .orderBy('login_key')
    .execute()
  assert.equal(oldRows.length, 2)

  const newUrl = await freshDatabaseUrl(t, dialect)
  const dir = await tempDir(t)
  const r = await runExample(t, 'usersvc', dir, { ...old.env, NEW_DATABASE_URL: newUrl })
  assert.equal(r.code, 0, show(r))
  assert.match(r.stderr, /exported 2 users to users\.jsonl/, show(r))
  assert.match(r.stdout, imported(2, 2), show(r))

  const { app: newApp } = await makeApp(t, { databaseUrl: newUrl })
  const newRows = await newApp.store.db
    .selectFrom('users')
    .select(['id', 'login_key', 'password_hash'])
    .orderBy('login_key')
    .execute()
  // The same ids and hashes, moved as they were (pg's rows have no prototype).
  assert.deepEqual(
    newRows.map((row) => ({ ...row })),
    oldRows.map((row) => ({ ...row })),
  )
  await assertMigrated(t, newUrl, [
    {
      login: 'uma',
      password: 'a long passphrase of hers',
      imported: '$argon2id$',
      email: 'uma@example.com',
    },
    {
      login: 'victor',
      password: 'victors bcrypt password',
      imported: '$2b$04$',
      registeredAt: '2018-07-08T09:10:11.000Z',
    },
  ])
  // The old database is left as it was.
  assert.equal(await storedHash(oldApp, 'victor'), bcryptHash)
}
