// The usersvc CLI as a process: migrate, admin create, keys rotate.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { describe, test } from 'node:test'
import { openStore } from '../src/db/store.ts'
import { createHasher } from '../src/passwords/hasher.ts'
import { cli, showRun } from './support/cli.ts'
import { PASSWORD } from './support/requests.ts'

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
    assert.equal(
      first.stdout,
      'applied: 0001_initial, 0002_store_probe, 0003_email_recovery_outbox, 0004_factors_sessions, 0005_events_webhooks, 0006_imported_hashes, 0007_oidc, 0008_oidc_clients\n',
    )
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

  test('no password at all (no variable, nothing piped) says so, exits 2, creates nothing', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const result = await run(['admin', 'create', '--login', 'root'], { input: '' })
    assert.equal(result.code, 2, showRun(result))
    assert.match(result.stderr, /no password given/)
    assert.match(result.stderr, /USERSVC_ADMIN_PASSWORD/)
    assert.doesNotMatch(result.stderr, /characters long/)
    assert.equal(existsSync(databaseUrl.slice('sqlite:'.length)), false, 'no database made')
  })

  test('an empty line is an empty password: refused by the policy', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const result = await run(['admin', 'create', '--login', 'root'], { input: '\n' })
    assert.equal(result.code, 1, showRun(result))
    assert.match(result.stderr, /must be at least 15 characters long/)
    assert.deepEqual(await users(databaseUrl), [])
  })

  test('an option another command takes is refused with this command’s usage', async (t) => {
    const { run } = await cli(t)
    const result = await run(['keys', 'rotate', '--login', 'root'])
    assert.equal(result.code, 2, showRun(result))
    assert.match(result.stderr, /Unknown option '--login'/)
    assert.match(result.stderr, /usage: usersvc keys rotate/)
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
