// The real service as a child process on a real port (what `npm start` runs), and /proc.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { Agent } from 'undici'
import { PATIENCE_MS } from './eventually.ts'
import { ROOT, TEST_ENV, tempDir } from './harness.ts'

export interface ProcessInfo {
  pid: number
  ppid: number
  /** R, S, D, Z (zombie), T (stopped)… */
  state: string
  /** The command line, arguments separated by spaces. */
  cmdline: string
}

/** The processes of the machine now, from /proc (those that exit while it looks are left out). */
export function processes(): ProcessInfo[] {
  const found: ProcessInfo[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ')
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      found.push({ pid: Number(entry), ppid: Number(rest[1]), state: rest[0] ?? '', cmdline })
    } catch {
      // Gone while we looked.
    }
  }
  return found
}

/** The pids whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  return processes()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid)
}

export interface Server {
  child: ChildProcessWithoutNullStreams
  /** http://127.0.0.1:PORT with TLS=off, https://localhost:PORT otherwise. */
  base: string
  port: number
  databaseUrl: string
  /** The TLS directory (local CA and certificates) the process uses. */
  tlsDir: string
  /** An undici dispatcher that trusts the local CA (for HTTPS servers). */
  dispatcher(): Promise<Agent>
  /** stdout so far, line by line (the JSON log). */
  stdout: string[]
  stderr(): string
  /** Resolves when stdout has a line that satisfies `match`, with that line. */
  waitForLine(match: (line: string) => boolean): Promise<string>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Waits until `check` finds something, re-checking whenever the child writes or ends. */
export function waitFor<T>(
  child: ChildProcessWithoutNullStreams,
  check: () => T | undefined,
  what: string,
  output: () => string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer)
      child.stdout.off('data', onData)
      child.stderr.off('data', onData)
      child.off('close', onExit)
    }
    const onData = () => {
      // Let the collectors below see the chunk first.
      setImmediate(() => {
        const found = check()
        if (found !== undefined) {
          cleanup()
          resolve(found)
        }
      })
    }
    const onExit = (code: number | null) => {
      const found = check()
      cleanup()
      if (found !== undefined) resolve(found)
      else reject(new Error(`usersvc exited (${code}) before ${what}\n${output()}`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`usersvc: no ${what} within ${PATIENCE_MS} ms\n${output()}`))
    }, PATIENCE_MS)
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    // 'close', not 'exit': the child's last output may still be on its way at 'exit'.
    child.on('close', onExit)
    onData()
  })
}

export interface StartOptions {
  env?: Record<string, string>
  /** Share a database (and TLS directory) with another instance. */
  databaseUrl?: string
  tlsDir?: string
}

/** Starts `node src/cli.ts serve` on a free port; killed (if still running) after the test. */
export async function startServer(t: TestContext, options: StartOptions = {}): Promise<Server> {
  const dir = await tempDir(t)
  const databaseUrl = options.databaseUrl ?? `sqlite:${join(dir, 'data', 'usersvc.db')}`
  const tlsDir = options.tlsDir ?? join(dir, 'data', 'tls')
  const child = spawn(process.execPath, ['src/cli.ts', 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      DATABASE_URL: databaseUrl,
      TLS_DIR: tlsDir,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      // Several processes at once: no fixed metrics port unless a test asks for one.
      METRICS_PORT: '0',
      // Mail into this test's folder, never the checkout's data/mail.
      MAIL_DIR: join(dir, 'data', 'mail'),
      ...TEST_ENV,
      ...options.env,
    },
  })
  // Resolved once its output has all been read too ('close', not 'exit').
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }))
  })
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  const stdout: string[] = []
  let partial = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    stdout.push(...lines.filter(Boolean))
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const output = () => `stdout:\n${stdout.join('\n')}\nstderr:\n${stderr}`
  const base = await waitFor(
    child,
    () => /usersvc is listening on (https?:\/\/[^\s]+:\d+)/.exec(stderr)?.[1],
    'listening line on stderr',
    output,
  )
  let agent: Agent | undefined
  t.after(() => agent?.close())
  return {
    child,
    base,
    port: Number(new URL(base).port),
    databaseUrl,
    tlsDir,
    async dispatcher() {
      agent ??= new Agent({ connect: { ca: await readFile(join(tlsDir, 'ca.crt'), 'utf8') } })
      return agent
    },
    stdout,
    stderr: () => stderr,
    waitForLine: (match) => waitFor(child, () => stdout.find(match), 'expected log line', output),
    exited,
  }
}
