// The usersvc CLI run as a child process (Node 24) in a clean environment, on fresh files.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { FAST_ARGON2, ROOT, tempDir } from './harness.ts'

/** The commands `usersvc` has. */
export const COMMANDS = [
  'serve',
  'migrate',
  'admin',
  'keys',
  'tls',
  'webhooks',
  'clients',
  'import',
  'export',
] as const

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  env?: Record<string, string>
  /** Written to stdin, which is then closed; without it stdin is closed at once. */
  input?: string
  script?: string
  /** Killed after this long (default 2 min): a command that should have exited fails, not hangs. */
  timeoutMs?: number
}

/** Runs the CLI with Node 24 in a clean environment (only what the test gives it). */
export function run(args: string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.script ?? 'src/cli.ts', ...args], {
      cwd: ROOT,
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
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(options.input ?? '')
  })
}

export interface Cli {
  databaseUrl: string
  dbFile: string
  /** TLS_DIR for the local CA (not created until a command needs it). */
  tlsDir: string
  env: Record<string, string>
  run(args: string[], options?: RunOptions): Promise<Run>
}

/** A CLI bound to a fresh SQLite file and TLS directory (neither created until needed). */
export async function cli(t: TestContext): Promise<Cli> {
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

/** A run, for assertion messages. */
export function showRun(result: Run): string {
  return `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`
}
