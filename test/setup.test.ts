// scripts/test-setup.sh, npm's pretest (and .ci/run's set-up): what the tests need from the
// machine, made so before any test runs. The fault it answers: on a fresh machine `npm ci && npm
// test` ran the whole suite and then failed two tests with 'sslscan is not installed'.
// Every case runs the real script with the machine's real commands. A command is made missing as
// on a machine without its package: it is left out of PATH (a directory of symlinks to everything
// else). Where nothing may be installed, apt-get, apt, dpkg and sudo are tripwires that note a call.
// The machine's own services are never stopped: the Redis to start is a private one on a free
// port, and the system nginx to quit is one this test starts.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { eventually } from './support/eventually.ts'
import { freePort } from './support/ports.ts'

const ROOT = join(import.meta.dirname, '..')
const SCRIPT = join(ROOT, 'scripts/test-setup.sh')
/** setpriv's arguments for running as nobody, a user who can install nothing. */
const AS_NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups']
const TRIPWIRES = ['apt-get', 'apt', 'dpkg', 'sudo']
const NGINX = '/usr/sbin/nginx'
const SYSTEM_NGINX_PID = '/run/nginx.pid'

/** Whether `pid` is a live (not zombie) process. */
function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

interface Ran {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }))
  })
}

/** The test's environment, with the escape hatch unset (a developer may have it set). */
function environment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  if (!('USERSVC_TEST_SETUP' in extra)) delete env.USERSVC_TEST_SETUP
  return env
}

interface Machine {
  /** A directory that nobody (uid 65534) can read. */
  dir: string
  /** A PATH: symlinks to every command on this PATH but the hidden ones and the tripwires. */
  path: string
  /** What the tripwires were called with, one line a call. */
  calls(): Promise<string>
}

/**
 * This machine as one without the `hidden` commands, as far as PATH goes; apt-get, apt, dpkg and
 * sudo are tripwires that only note that they were called and fail.
 */
async function machineWithout(hidden: string[]): Promise<Machine> {
  const dir = await mkdtemp(join(tmpdir(), 'usersvc-test-'))
  await chmod(dir, 0o755)
  const bin = join(dir, 'bin')
  await mkdir(bin, { mode: 0o755 })
  const callsFile = join(dir, 'calls')
  await writeFile(callsFile, '')
  await chmod(callsFile, 0o666)
  const skip = new Set([...hidden, ...TRIPWIRES])
  const links = new Map<string, string>()
  for (const from of (process.env.PATH ?? '').split(':')) {
    if (!from || !existsSync(from)) continue
    for (const name of await readdir(from)) {
      if (!skip.has(name) && !links.has(name)) links.set(name, join(from, name))
    }
  }
  await Promise.all([...links].map(([name, target]) => symlink(target, join(bin, name))))
  for (const name of TRIPWIRES) {
    const path = join(bin, name)
    await writeFile(path, `#!/bin/sh\necho "${name} $*" >> ${callsFile}\nexit 1\n`)
    await chmod(path, 0o755)
  }
  return { dir, path: bin, calls: () => readFile(callsFile, 'utf8') }
}

/** The packages of the one `sudo apt-get install -y …` line in `stderr`. */
function aptLine(stderr: string): string[] {
  const lines = stderr.split('\n').filter((line) => line.startsWith('sudo apt-get install -y '))
  assert.equal(lines.length, 1, `one apt-get line in:\n${stderr}`)
  return (lines[0] as string).slice('sudo apt-get install -y '.length).trim().split(' ')
}

/** The Debian package that owns `path`, as dpkg knows it. */
async function owner(path: string): Promise<string> {
  const { code, stdout, stderr } = await run('dpkg', ['-S', path], environment())
  assert.equal(code, 0, `dpkg -S ${path}: ${stderr}`)
  return stdout.split(':')[0] as string
}

async function onPath(command: string): Promise<string> {
  const { code, stdout } = await run('bash', ['-c', `command -v ${command}`], environment())
  assert.equal(code, 0, `${command} is on this machine's PATH`)
  return stdout.trim()
}

/** The commands the tests run by name, each hidden in turn from the script's PATH below. */
const COMMANDS = [
  'sslscan',
  'curl',
  'openssl',
  'strace',
  'redis-server',
  'redis-cli',
  'pg_ctlcluster',
  'pg_isready',
  'sqlite3',
  'psql',
  'jq',
]

describe('test set-up (npm pretest)', () => {
  /** The fresh machine of the fault: everything but sslscan. */
  let noSslscan: Machine
  /** None of the commands the tests run by name. */
  let noCommands: Machine
  before(async () => {
    noSslscan = await machineWithout(['sslscan'])
    noCommands = await machineWithout(COMMANDS)
  })
  after(() =>
    Promise.all(
      [noSslscan, noCommands].map((m) => m && rm(m.dir, { recursive: true, force: true })),
    ),
  )
  const asNobody = (args: string[], env: NodeJS.ProcessEnv, cwd?: string) =>
    run('setpriv', [...AS_NOBODY, ...args], env, cwd)

  test('with everything there it does nothing: exit 0, silent, well under a second', async () => {
    const runs: Ran[] = []
    for (let i = 0; i < 3; i++) runs.push(await run('bash', [SCRIPT], environment()))
    for (const r of runs) assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', ''])
    // The fastest of three, so a moment of load on a shared machine does not decide it.
    const fastest = Math.min(...runs.map((r) => r.ms))
    assert.ok(fastest < 1000, `fastest run ${fastest.toFixed(0)} ms`)
  })

  test('as a user who cannot install, a missing sslscan stops it with the apt-get line naming its package; nothing is installed', async () => {
    const r = await asNobody(['bash', SCRIPT], environment({ PATH: noSslscan.path }))
    assert.equal(r.code, 1, r.stderr)
    assert.deepEqual(aptLine(r.stderr), ['sslscan'])
    assert.equal(r.stdout, '')
    assert.equal(await noSslscan.calls(), '', 'no package tool was run')
  })

  test('every command the tests run is named by the Debian package that really holds it', async () => {
    // Where the commands are on this machine, and whose they are, as dpkg knows it.
    const paths = [...(await Promise.all(COMMANDS.map(onPath))), '/usr/bin/chromium']
    const expected = new Set(await Promise.all(paths.map(owner)))
    const env = environment({
      PATH: noCommands.path,
      CHROMIUM_PATH: join(noCommands.dir, 'no-chromium'),
    })
    const r = await asNobody(['bash', SCRIPT], env)
    assert.equal(r.code, 1, r.stderr)
    const named = aptLine(r.stderr)
    assert.equal(named.length, new Set(named).size, `no package twice: ${named.join(' ')}`)
    assert.deepEqual(new Set(named), expected)
    assert.equal(await noCommands.calls(), '', 'no package tool was run')
  })

  test('npm test runs it first: a missing command stops `npm test` before any test runs', async () => {
    // A project of this package.json and scripts/ only: were the pretest not wired, npm test
    // would run `node --test` here, find no tests, and print no apt-get line.
    const project = join(noSslscan.dir, 'project')
    await mkdir(project, { mode: 0o755 })
    await copyFile(join(ROOT, 'package.json'), join(project, 'package.json'))
    await symlink(join(ROOT, 'scripts'), join(project, 'scripts'))
    const home = join(noSslscan.dir, 'home')
    await mkdir(home)
    await chmod(home, 0o777)
    const env = environment({
      PATH: noSslscan.path,
      HOME: home,
      npm_config_cache: join(home, 'npm-cache'),
      npm_config_update_notifier: 'false',
    })
    const r = await asNobody(['npm', 'test'], env, project)
    assert.notEqual(r.code, 0, r.stdout + r.stderr)
    assert.deepEqual(aptLine(r.stderr), ['sslscan'])
    assert.doesNotMatch(r.stdout + r.stderr, /^ℹ tests /m, 'no test ran')
    assert.equal(await noSslscan.calls(), '', 'no package tool was run')
  })

  test('as root, it runs apt-get install for the missing package, then checks again', async () => {
    // The real apt-get and dpkg come first on PATH. sslscan is installed here, only hidden:
    // apt-get install finds nothing to do and succeeds (it fails on a package name Debian does
    // not have), yet sslscan is still not found, and the script says so rather than go on.
    const tools = join(noSslscan.dir, 'package-tools')
    await mkdir(tools, { mode: 0o755 })
    for (const name of ['apt-get', 'dpkg']) await symlink(await onPath(name), join(tools, name))
    const r = await run('bash', [SCRIPT], environment({ PATH: `${tools}:${noSslscan.path}` }))
    assert.equal(r.code, 1, r.stderr)
    assert.match(
      r.stderr,
      /^test-setup: apt-get installed sslscan, yet still not found .*: sslscan$/m,
    )
  })

  test('a Redis that does not answer is started, waited for, and said in one line', async (t) => {
    // A private Redis on a free port, so the machine's own is never stopped.
    const port = await freePort()
    t.after(() => run('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], environment()))
    const first = await run('redis-cli', ['-p', String(port), 'ping'], environment())
    assert.notEqual(first.stdout.trim(), 'PONG', 'nothing answers there yet')
    const r = await run(
      'bash',
      [SCRIPT],
      environment({ TEST_REDIS_URL: `redis://127.0.0.1:${port}` }),
    )
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', 'test-setup: started Redis\n'])
    const now = await run('redis-cli', ['-p', String(port), 'ping'], environment())
    assert.equal(now.stdout.trim(), 'PONG')
  })

  test("a system nginx (Debian's, /run/nginx.pid) is quit; an nginx of the tests is left running", async (t) => {
    assert.equal(existsSync(SYSTEM_NGINX_PID), false, 'no system nginx to begin with')
    // One as the tests start theirs: its own prefix, pid file and config, in the foreground.
    const dir = await mkdtemp(join(tmpdir(), 'usersvc-test-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    const port = await freePort()
    await writeFile(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid;\nevents {}\nhttp { access_log off; ` +
        `server { listen 127.0.0.1:${port}; return 204; } }\n`,
    )
    const ours = spawn(
      NGINX,
      [
        '-p',
        `${dir}/`,
        '-c',
        join(dir, 'nginx.conf'),
        '-e',
        join(dir, 'error.log'),
        '-g',
        'daemon off;',
      ],
      { stdio: 'ignore' },
    )
    // SIGTERM: nginx's fast shutdown, in which the master ends its workers before it exits.
    t.after(async () => {
      if (ours.exitCode !== null || ours.signalCode !== null) return
      const exited = once(ours, 'exit')
      ours.kill('SIGTERM')
      await exited
    })
    await eventually(() => (existsSync(join(dir, 'nginx.pid')) ? true : undefined), {
      what: 'our nginx',
    })
    // Debian's: the default config, as its package starts it.
    const started = await run(NGINX, [], environment())
    assert.equal(started.code, 0, started.stderr)
    const system = Number((await readFile(SYSTEM_NGINX_PID, 'utf8')).trim())
    t.after(() => {
      if (alive(system)) process.kill(system, 'SIGTERM')
    })

    const r = await run('bash', [SCRIPT], environment())
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', 'test-setup: quit the system nginx\n'])
    await eventually(() => (alive(system) ? undefined : true), { what: 'the system nginx gone' })
    assert.equal(ours.exitCode, null, 'our nginx still runs')
    assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 204)
  })

  test('USERSVC_TEST_SETUP=skip does nothing at all, even with a command missing', async () => {
    const env = environment({ PATH: noSslscan.path, USERSVC_TEST_SETUP: 'skip' })
    const r = await asNobody(['bash', SCRIPT], env)
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', ''])
    assert.equal(await noSslscan.calls(), '')
  })
})
