import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { openStore } from '../src/db/store.ts'
import { createHasher } from '../src/passwords/hasher.ts'
import { FAST_ARGON2, tempDir } from './support/harness.ts'
import { PASSWORD } from './support/requests.ts'

const root = join(import.meta.dirname, '..')
const COMMANDS = ['serve', 'migrate', 'admin', 'keys', 'tls'] as const

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

interface RunOptions {
  env?: Record<string, string>
  /** Written to stdin, which is then closed; without it stdin is closed at once. */
  input?: string
  script?: string
}

/** Runs the CLI with Node 24 in a clean environment (only what the test gives it). */
function run(args: string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.script ?? 'src/cli.ts', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })
}

interface Cli {
  databaseUrl: string
  dbFile: string
  /** TLS_DIR for the local CA (not created until a command needs it). */
  tlsDir: string
  env: Record<string, string>
  run(args: string[], options?: RunOptions): Promise<Run>
}

/** A CLI bound to a fresh SQLite file and TLS directory (neither created until needed). */
async function cli(t: TestContext): Promise<Cli> {
  const dir = await tempDir(t)
  const dbFile = join(dir, 'data', 'usersvc.db')
  const tlsDir = join(dir, 'data', 'tls')
  const databaseUrl = `sqlite:${dbFile}`
  const env = { DATABASE_URL: databaseUrl, TLS_DIR: tlsDir, ...FAST_ARGON2 }
  return {
    databaseUrl,
    dbFile,
    tlsDir,
    env,
    run: (args, options = {}) => run(args, { ...options, env: { ...env, ...options.env } }),
  }
}

async function users(databaseUrl: string) {
  const store = openStore(databaseUrl)
  try {
    return await store.db.selectFrom('users').selectAll().orderBy('login_key').execute()
  } finally {
    await store.destroy()
  }
}

async function signingKeys(databaseUrl: string) {
  const store = openStore(databaseUrl)
  try {
    return await store.db.selectFrom('signing_keys').selectAll().orderBy('generation').execute()
  } finally {
    await store.destroy()
  }
}

function showRun(result: Run): string {
  return `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`
}

describe('usersvc CLI: help and usage', () => {
  test('--help, -h and help print the usage and exit 0', async (t) => {
    const { run } = await cli(t)
    for (const flag of ['--help', '-h', 'help']) {
      const result = await run([flag])
      assert.equal(result.code, 0, showRun(result))
      assert.match(result.stdout, /^usage: usersvc <command> \[options\]/)
      for (const command of COMMANDS) {
        assert.match(result.stdout, new RegExp(`^  ${command}\\b`, 'm'), `${flag}: ${command}`)
      }
      assert.match(result.stdout, /\.env\.example/)
    }
  })

  test('no command prints the usage and exits 2', async (t) => {
    const { run } = await cli(t)
    const result = await run([])
    assert.equal(result.code, 2, showRun(result))
    assert.match(result.stdout, /^usage: usersvc <command>/)
  })

  for (const command of COMMANDS) {
    test(`${command} --help prints its usage and exits 0 without touching the database`, async (t) => {
      const { run, dbFile, tlsDir } = await cli(t)
      // Help comes before configuration: even a bad variable does not stop it.
      const result = await run([command, '--help'], { env: { PORT: 'abc' } })
      assert.equal(result.code, 0, showRun(result))
      assert.match(result.stdout, new RegExp(`^usage: usersvc ${command}\\b`))
      assert.equal(result.stderr, '')
      assert.equal(existsSync(dbFile), false)
      assert.equal(existsSync(tlsDir), false, 'help makes no local CA')
      const short = await run([command, '-h'])
      assert.equal(short.code, 0, showRun(short))
      assert.equal(short.stdout, result.stdout)
    })
  }

  test('an unknown command exits 2 naming it, with the usage', async (t) => {
    const { run, dbFile } = await cli(t)
    for (const args of [['frobnicate'], ['frobnicate', '--help'], ['main'], ['main', '--help']]) {
      const result = await run(args)
      assert.equal(result.code, 2, `${args.join(' ')}: ${showRun(result)}`)
      assert.match(result.stderr, new RegExp(`unknown command "${args[0]}"`), showRun(result))
      assert.match(result.stderr, /usage: usersvc <command>/)
    }
    assert.equal(existsSync(dbFile), false)
  })

  test('names inherited by every object are unknown commands too', async (t) => {
    const { run } = await cli(t)
    for (const args of [['constructor', '--help'], ['toString', '--help'], ['toString']]) {
      const result = await run(args)
      assert.equal(result.code, 2, `${args.join(' ')}: ${showRun(result)}`)
      assert.match(result.stderr, new RegExp(`unknown command "${args[0]}"`), showRun(result))
    }
  })

  test('bin/usersvc.js --help works under Node 24', async () => {
    const result = await run(['--help'], { script: 'bin/usersvc.js' })
    assert.equal(result.code, 0, showRun(result))
    assert.match(result.stdout, /^usage: usersvc <command> \[options\]/)
  })

  test('bin/usersvc.js runs commands too', async (t) => {
    const { env, dbFile } = await cli(t)
    const result = await run(['migrate'], { script: 'bin/usersvc.js', env })
    assert.equal(result.code, 0, showRun(result))
    assert.ok(existsSync(dbFile))
  })
})

describe('usersvc CLI: configuration errors', () => {
  test('a bad variable exits 1 naming it, before opening the database', async (t) => {
    const { run, dbFile } = await cli(t)
    const result = await run(['migrate'], { env: { PORT: 'abc' } })
    assert.equal(result.code, 1, showRun(result))
    assert.match(result.stderr, /PORT/)
    assert.equal(result.stdout, '')
    assert.equal(existsSync(dbFile), false)
  })

  test('a bad DATABASE_URL is named but its value (with a password) is not shown', async (t) => {
    const { run } = await cli(t)
    const result = await run(['migrate'], {
      env: { DATABASE_URL: 'mysql://root:hunter2-s3cret@db.internal/users' },
    })
    assert.equal(result.code, 1, showRun(result))
    assert.match(result.stderr, /DATABASE_URL/)
    assert.ok(!result.stderr.includes('hunter2-s3cret'), result.stderr)
  })
})

describe('usersvc CLI: migrate', () => {
  test('exits 0 and creates the database; the second time it is up to date', async (t) => {
    const { run, dbFile, databaseUrl } = await cli(t)
    const first = await run(['migrate'])
    assert.equal(first.code, 0, showRun(first))
    assert.ok(existsSync(dbFile), 'the data folder and file are created')
    assert.deepEqual(await users(databaseUrl), [])
    const second = await run(['migrate'])
    assert.equal(second.code, 0, showRun(second))
    assert.equal(second.stdout, 'the database is up to date\n')
  })

  test('the first run says which migrations it applied', async (t) => {
    const { run } = await cli(t)
    const first = await run(['migrate'])
    assert.equal(first.code, 0, showRun(first))
    assert.equal(first.stdout, 'applied: 0001_initial\n')
  })
})

describe('usersvc CLI: admin create', () => {
  test('creates an admin with the password from USERSVC_ADMIN_PASSWORD', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const result = await run(['admin', 'create', '--login', 'root'], {
      env: { USERSVC_ADMIN_PASSWORD: PASSWORD },
    })
    assert.equal(result.code, 0, showRun(result))
    const rows = await users(databaseUrl)
    assert.equal(rows.length, 1)
    const [admin] = rows
    assert.equal(admin?.login, 'root')
    assert.equal(admin?.login_key, 'root')
    assert.equal(admin?.role, 'admin')
    assert.equal(result.stdout.trim(), `created admin root (${admin?.id})`)
    assert.ok(!result.stdout.includes(PASSWORD) && !result.stderr.includes(PASSWORD))
    const hasher = await createHasher({ params: { memoryCost: 256, timeCost: 1, parallelism: 1 } })
    assert.match(admin?.password_hash ?? '', /^\$argon2id\$v=19\$m=256,t=1,p=1\$/)
    assert.equal(await hasher.verify(admin?.password_hash ?? '', PASSWORD), true)
  })

  test('reads the password from a pipe when the variable is not set', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const result = await run(['admin', 'create', '--login', 'Root.Admin'], {
      input: `${PASSWORD}\nignored second line\n`,
    })
    assert.equal(result.code, 0, showRun(result))
    const [admin] = await users(databaseUrl)
    assert.equal(admin?.login, 'Root.Admin')
    assert.equal(admin?.login_key, 'root.admin')
    assert.equal(admin?.role, 'admin')
    // The first line only, without its newline.
    const hasher = await createHasher({ params: { memoryCost: 256, timeCost: 1, parallelism: 1 } })
    assert.equal(await hasher.verify(admin?.password_hash ?? '', PASSWORD), true)
  })

  test('a weak password exits 1 with the policy’s reason and creates nothing', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const result = await run(['admin', 'create', '--login', 'root'], {
      env: { USERSVC_ADMIN_PASSWORD: 'q7-vz!kp' },
    })
    assert.equal(result.code, 1, showRun(result))
    assert.match(result.stderr, /password: must be at least 15 characters long/)
    assert.equal(result.stdout, '')
    assert.deepEqual(await users(databaseUrl), [])
  })

  test('a common password and one that contains the login are refused with both reasons', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const result = await run(['admin', 'create', '--login', 'password'], {
      input: 'PasswordPassword\n',
    })
    assert.equal(result.code, 1, showRun(result))
    assert.match(result.stderr, /password: is a commonly used password/)
    assert.match(result.stderr, /password: must not contain the login/)
    assert.deepEqual(await users(databaseUrl), [])
  })

  test('an empty pipe is an empty password: refused', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const result = await run(['admin', 'create', '--login', 'root'], { input: '' })
    assert.equal(result.code, 1, showRun(result))
    assert.match(result.stderr, /must be at least 15 characters long/)
    assert.deepEqual(await users(databaseUrl), [])
  })

  test('a bad login is refused', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const result = await run(['admin', 'create', '--login', ' root'], {
      env: { USERSVC_ADMIN_PASSWORD: PASSWORD },
    })
    assert.equal(result.code, 1, showRun(result))
    assert.match(result.stderr, /login: /)
    assert.deepEqual(await users(databaseUrl), [])
  })

  test('a taken login exits 1 and keeps the first user', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const env = { USERSVC_ADMIN_PASSWORD: PASSWORD }
    assert.equal((await run(['admin', 'create', '--login', 'root'], { env })).code, 0)
    const again = await run(['admin', 'create', '--login', 'ROOT'], { env })
    assert.equal(again.code, 1, showRun(again))
    assert.match(again.stderr, /already taken/)
    assert.equal((await users(databaseUrl)).length, 1)
  })

  test('without create or --login it prints its usage and exits 2', async (t) => {
    const { run } = await cli(t)
    for (const args of [['admin'], ['admin', 'create'], ['admin', 'delete', '--login', 'root']]) {
      const result = await run(args, { env: { USERSVC_ADMIN_PASSWORD: PASSWORD } })
      assert.equal(result.code, 2, `${args.join(' ')}: ${showRun(result)}`)
      assert.match(result.stderr, /usage: usersvc admin create --login NAME/)
    }
  })
})

describe('usersvc CLI: keys rotate', () => {
  test('adds a signing key, prints its kid, and retires the previous one', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const first = await run(['keys', 'rotate'])
    assert.equal(first.code, 0, showRun(first))
    let keys = await signingKeys(databaseUrl)
    // A fresh database gets its first key, then the rotation adds a second.
    assert.equal(keys.length, 2)
    const [old, current] = keys
    assert.equal(first.stdout.trim(), `new signing key ${current?.kid}`)
    assert.equal(current?.generation, 2)
    assert.equal(current?.retired_at, null)
    assert.notEqual(current?.private_jwk, null)
    assert.equal(old?.generation, 1)
    assert.notEqual(old?.retired_at, null)
    assert.equal(old?.private_jwk, null, 'a retired private key is forgotten')

    const second = await run(['keys', 'rotate'])
    assert.equal(second.code, 0, showRun(second))
    keys = await signingKeys(databaseUrl)
    assert.equal(keys.length, 3)
    assert.equal(second.stdout.trim(), `new signing key ${keys[2]?.kid}`)
    assert.notEqual(keys[2]?.kid, current?.kid)
    assert.equal(keys.filter((k) => k.retired_at === null).length, 1)
  })

  test('keys without rotate prints its usage and exits 2', async (t) => {
    const { run } = await cli(t)
    const result = await run(['keys'])
    assert.equal(result.code, 2, showRun(result))
    assert.match(result.stderr, /usage: usersvc keys rotate/)
  })
})

interface InitReport {
  caPath: string
  caNew: boolean
  fingerprint: string
  certPath: string
  certNew: boolean
  validUntil: Date
}

/** Reads the three lines `usersvc tls init` prints. */
function initReport(stdout: string): InitReport {
  const ca = /^local CA: {4}(\S+)( \(new\))?$/m.exec(stdout)
  const sha = /^SHA-256: {5}((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$/m.exec(stdout)
  const cert = /^certificate: (\S+?)( \(new\))?, valid until (\S+)$/m.exec(stdout)
  assert.ok(ca && sha && cert, `unexpected output:\n${stdout}`)
  return {
    caPath: ca[1] as string,
    caNew: Boolean(ca[2]),
    fingerprint: sha[1] as string,
    certPath: cert[1] as string,
    certNew: Boolean(cert[2]),
    validUntil: new Date(cert[3] as string),
  }
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000)

const mode = async (path: string) => (await stat(path)).mode & 0o777

describe('usersvc CLI: tls', () => {
  test('tls --help describes init and print-ca, and makes no CA', async (t) => {
    const { run, tlsDir } = await cli(t)
    const result = await run(['tls', '--help'])
    assert.equal(result.code, 0, showRun(result))
    assert.match(result.stdout, /^usage: usersvc tls init \[--name NAME\] \| print-ca$/m)
    assert.match(result.stdout, /^init {6}/m)
    assert.match(result.stdout, /^print-ca {2}/m)
    assert.equal(existsSync(tlsDir), false)
  })

  test('serve --help gives the default port with TLS (8443), not only the plain-HTTP one', async (t) => {
    const { run } = await cli(t)
    const result = await run(['serve', '--help'])
    assert.equal(result.code, 0, showRun(result))
    // TLS is on by default, and then PORT defaults to 8443 (8080 only with TLS=off).
    assert.match(result.stdout, /8443/, result.stdout)
  })

  test('tls init creates the CA and a server certificate, keys readable by the owner only', async (t) => {
    const { run, tlsDir, dbFile } = await cli(t)
    const result = await run(['tls', 'init'])
    assert.equal(result.code, 0, showRun(result))
    assert.deepEqual((await readdir(tlsDir)).sort(), [
      'ca.crt',
      'ca.key',
      'server.crt',
      'server.key',
    ])
    assert.equal(await mode(join(tlsDir, 'ca.key')), 0o600)
    assert.equal(await mode(join(tlsDir, 'server.key')), 0o600)
    assert.equal(await mode(tlsDir), 0o700)

    const report = initReport(result.stdout)
    assert.equal(report.caPath, join(tlsDir, 'ca.crt'))
    assert.equal(report.certPath, join(tlsDir, 'server.crt'))
    assert.equal(report.caNew, true, result.stdout)
    assert.equal(report.certNew, true, result.stdout)
    const ca = new X509Certificate(await readFile(join(tlsDir, 'ca.crt')))
    const leaf = new X509Certificate(await readFile(join(tlsDir, 'server.crt')))
    assert.equal(report.fingerprint, ca.fingerprint256)
    // validTo has whole seconds.
    assert.equal(seconds(report.validUntil), seconds(new Date(leaf.validTo)))
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'the leaf is signed by the CA')
    assert.equal(existsSync(dbFile), false, 'tls init does not touch the database')
  })

  test('a second tls init reuses both: nothing new, the same fingerprint', async (t) => {
    const { run, tlsDir } = await cli(t)
    const first = await run(['tls', 'init'])
    assert.equal(first.code, 0, showRun(first))
    const caPem = await readFile(join(tlsDir, 'ca.crt'), 'utf8')
    const leafPem = await readFile(join(tlsDir, 'server.crt'), 'utf8')

    const second = await run(['tls', 'init'])
    assert.equal(second.code, 0, showRun(second))
    assert.ok(!second.stdout.includes('(new)'), second.stdout)
    const a = initReport(first.stdout)
    const b = initReport(second.stdout)
    assert.equal(b.fingerprint, a.fingerprint)
    assert.equal(seconds(b.validUntil), seconds(a.validUntil))
    assert.equal(await readFile(join(tlsDir, 'ca.crt'), 'utf8'), caPem)
    assert.equal(await readFile(join(tlsDir, 'server.crt'), 'utf8'), leafPem)
  })

  test('tls init covers TLS_SAN; a new name re-issues the certificate but keeps the CA', async (t) => {
    const { run, tlsDir } = await cli(t)
    const first = await run(['tls', 'init'])
    assert.equal(first.code, 0, showRun(first))
    const second = await run(['tls', 'init'], {
      env: { TLS_SAN: 'usersvc.internal, 10.0.0.5' },
    })
    assert.equal(second.code, 0, showRun(second))
    const a = initReport(first.stdout)
    const b = initReport(second.stdout)
    assert.equal(b.caNew, false, second.stdout)
    assert.equal(b.fingerprint, a.fingerprint)
    assert.equal(b.certNew, true, second.stdout)
    const leaf = new X509Certificate(await readFile(join(tlsDir, 'server.crt')))
    const sans = (leaf.subjectAltName ?? '').split(', ')
    for (const san of ['DNS:localhost', 'IP Address:127.0.0.1', 'DNS:usersvc.internal']) {
      assert.ok(sans.includes(san), `${san} not in ${leaf.subjectAltName}`)
    }
    assert.ok(sans.includes('IP Address:10.0.0.5'), leaf.subjectAltName)
  })

  test('tls print-ca writes the CA (PEM) to stdout and its fingerprint to stderr', async (t) => {
    const { run, tlsDir } = await cli(t)
    const init = await run(['tls', 'init'])
    assert.equal(init.code, 0, showRun(init))
    const result = await run(['tls', 'print-ca'])
    assert.equal(result.code, 0, showRun(result))
    const pem = await readFile(join(tlsDir, 'ca.crt'), 'utf8')
    assert.equal(result.stdout, pem)
    assert.match(
      result.stdout,
      /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n?$/,
    )
    const fingerprint = new X509Certificate(pem).fingerprint256
    assert.equal(result.stderr, `SHA-256 fingerprint: ${fingerprint}\n`)
    assert.equal(fingerprint, initReport(init.stdout).fingerprint)
  })

  test('tls print-ca on a fresh TLS_DIR makes the CA it prints', async (t) => {
    const { run, tlsDir } = await cli(t)
    const result = await run(['tls', 'print-ca'])
    assert.equal(result.code, 0, showRun(result))
    assert.equal(result.stdout, await readFile(join(tlsDir, 'ca.crt'), 'utf8'))
    assert.equal(await mode(join(tlsDir, 'ca.key')), 0o600)
  })

  test('tls with a bad subcommand, or none, exits 2 with its usage', async (t) => {
    const { run } = await cli(t)
    for (const args of [['tls', 'bogus'], ['tls']]) {
      const result = await run(args)
      assert.equal(result.code, 2, `${args.join(' ')}: ${showRun(result)}`)
      assert.match(result.stderr, /usage: usersvc tls init \[--name NAME\] \| print-ca/)
      assert.equal(result.stdout, '')
    }
  })

  test('tls with a bad subcommand leaves TLS_DIR alone (a usage error has no side effects)', async (t) => {
    const { run, tlsDir } = await cli(t)
    const result = await run(['tls', 'bogus'])
    assert.equal(result.code, 2, showRun(result))
    assert.equal(existsSync(tlsDir), false, `tls bogus created ${tlsDir}`)
  })

  test('tls init with a bad variable exits 1 naming it and makes no CA', async (t) => {
    const { run, tlsDir } = await cli(t)
    const result = await run(['tls', 'init'], { env: { TLS_SAN: 'bad/name' } })
    assert.equal(result.code, 1, showRun(result))
    assert.match(result.stderr, /TLS_SAN/)
    assert.equal(existsSync(tlsDir), false)
  })

  test('tls init --name nginx makes nginx.crt and nginx.key, signed by the local CA', async (t) => {
    const { run, tlsDir } = await cli(t)
    const result = await run(['tls', 'init', '--name', 'nginx'])
    assert.equal(result.code, 0, showRun(result))
    assert.deepEqual((await readdir(tlsDir)).sort(), ['ca.crt', 'ca.key', 'nginx.crt', 'nginx.key'])
    assert.equal(await mode(join(tlsDir, 'nginx.key')), 0o600)
    const report = initReport(result.stdout)
    assert.equal(report.certPath, join(tlsDir, 'nginx.crt'))
    assert.equal(report.certNew, true, result.stdout)
    const ca = new X509Certificate(await readFile(join(tlsDir, 'ca.crt')))
    const leaf = new X509Certificate(await readFile(join(tlsDir, 'nginx.crt')))
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'the leaf is signed by the CA')
  })

  test('tls init with a --name that is not letters, digits and - exits 2 and makes nothing', async (t) => {
    const { run, tlsDir } = await cli(t)
    for (const name of ['bad name', '../escape', 'UPPER']) {
      const result = await run(['tls', 'init', '--name', name])
      assert.equal(result.code, 2, `${name}: ${showRun(result)}`)
      assert.match(result.stderr, /--name takes letters, digits and - only/)
      assert.equal(result.stdout, '')
    }
    const made = existsSync(tlsDir) ? await readdir(tlsDir) : []
    assert.deepEqual(made, [], 'no CA and no certificate')
  })
})
