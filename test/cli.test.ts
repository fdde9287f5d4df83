// The usersvc CLI as a process: help and usage, configuration errors, bin/usersvc.js.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { describe, test } from 'node:test'
import { COMMANDS, cli, run, showRun } from './support/cli.ts'

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
