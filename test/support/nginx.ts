// nginx in front of the service (scripts/proxy.ts): one nginx per test, its processes, and the
// checks of the answers nginx makes itself.
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import type { TestContext } from 'node:test'
import { Agent } from 'undici'
import {
  type PreparedProxy,
  type ProxyOptions,
  prepareProxy,
  proxyOptionsFromEnv,
  runProxy,
  stopProxy,
} from '../../scripts/proxy.ts'
import { AppError, toProblem } from '../../src/errors.ts'
import { loadTlsCredentials, type TlsCredentials } from '../../src/tls/credentials.ts'
import { eventually, patiently } from './eventually.ts'
import { makeApp } from './harness.ts'
import type { Reply } from './http.ts'
import { freePort } from './ports.ts'
import { assertProblem } from './problems.ts'
import { childrenOf, processes } from './processes.ts'

export const NGINX = '/usr/sbin/nginx'
export const HSTS = 'max-age=63072000'

/** Whether `path` is `dir` or inside it. */
export function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep)
}

/**
 * A problem document nginx made itself (deploy/nginx error pages): the same document the service
 * would send for that code, with HSTS and no-store.
 */
export function assertEdgeProblem(
  reply: Reply,
  status: number,
  code: 'payload_too_large' | 'unavailable',
) {
  assertProblem(reply, status, code, undefined, { byNginx: true })
  assert.deepEqual(JSON.parse(reply.body), toProblem(new AppError(code)))
  assert.equal(reply.headers['strict-transport-security'], HSTS)
  assert.equal(reply.headers['cache-control'], 'no-store')
}

/**
 * Live (not zombie) nginx processes of one run: the master we started, its workers, and anything
 * whose command line names the run directory.
 */
function nginxProcessesOf(runDir: string, known: Set<number>): number[] {
  const nginx = processes().filter((p) => p.state !== 'Z' && p.cmdline.includes('nginx'))
  const ours = new Set(
    nginx.filter((p) => known.has(p.pid) || p.cmdline.includes(runDir)).map((p) => p.pid),
  )
  for (const p of nginx) if (ours.has(p.ppid)) ours.add(p.pid)
  return [...ours]
}

export interface Edge {
  runDir: string
  tlsDir: string
  httpsPort: number
  httpPort: number
  /** https://localhost:HTTPS_PORT */
  base: string
  options: ProxyOptions
  prepared(): PreparedProxy
  child(): ChildProcess
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Renders, checks and starts nginx in front of `upstreams`; resolves once it listens. */
  start(upstreams: string[]): Promise<void>
  caPem(): Promise<string>
  /** An undici Agent that trusts the local CA (closed after the test). */
  agent(options?: { localAddress?: string; connections?: number }): Promise<Agent>
  /** Every nginx process of this run still alive. */
  alive(): number[]
}

/**
 * Temp dirs and free ports for one nginx; its clean-up is registered first, so it runs before the
 * clean-up of anything the test starts afterwards (t.after hooks run in order): nginx lets go of
 * its upstream connections before the instances close.
 */
export async function edgeFixture(t: TestContext): Promise<Edge> {
  const root = await mkdtemp(join(tmpdir(), 'usersvc-nginx-'))
  const runDir = join(root, 'run')
  const tlsDir = join(root, 'tls')
  const httpsPort = await freePort()
  let httpPort = await freePort()
  while (httpPort === httpsPort) httpPort = await freePort()
  const known = new Set<number>()
  const agents: Agent[] = []
  let prepared: PreparedProxy | undefined
  let child: ChildProcess | undefined
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined
  let options: ProxyOptions = proxyOptionsFromEnv({
    PROXY_DIR: runDir,
    TLS_DIR: tlsDir,
    PROXY_HOST: '127.0.0.1',
    PROXY_HTTPS_PORT: String(httpsPort),
    PROXY_HTTP_PORT: String(httpPort),
  })

  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null
  const rememberWorkers = () => {
    if (!child?.pid) return
    known.add(child.pid)
    for (const pid of childrenOf(child.pid)) known.add(pid)
  }

  const edge: Edge = {
    runDir,
    tlsDir,
    httpsPort,
    httpPort,
    base: `https://localhost:${httpsPort}`,
    get options() {
      return options
    },
    prepared() {
      assert.ok(prepared, 'nginx was not started')
      return prepared
    },
    child() {
      assert.ok(child, 'nginx was not started')
      return child
    },
    exited() {
      assert.ok(exited, 'nginx was not started')
      return exited
    },
    async start(upstreams) {
      options = { ...options, upstreams }
      prepared = await prepareProxy(options)
      const started = runProxy(prepared)
      child = started
      exited = new Promise((done) => {
        started.on('exit', (code, signal) => done({ code, signal }))
      })
      const pidFile = join(runDir, 'nginx.pid')
      // nginx writes its pid file once its sockets listen (nginx -t leaves an empty one).
      await eventually(
        async () => {
          if (started.exitCode !== null || started.signalCode !== null)
            throw new Error(`nginx exited (${started.exitCode ?? started.signalCode}) on start`)
          const pid = await readFile(pidFile, 'utf8').catch(() => '')
          return pid.trim() === String(started.pid) ? true : undefined
        },
        { what: 'nginx.pid with the master pid' },
      )
      known.add(started.pid ?? 0)
    },
    caPem: () => readFile(join(tlsDir, 'ca.crt'), 'utf8'),
    async agent(options = {}) {
      // localAddress is a Client option: undici's connector overrides connect.localAddress with it.
      const agent = new Agent({ connect: { ca: await edge.caPem() }, ...options })
      agents.push(agent)
      return agent
    },
    alive() {
      if (running()) rememberWorkers()
      return nginxProcessesOf(runDir, known)
    },
  }

  t.after(async () => {
    try {
      await Promise.all(agents.map((a) => a.close()))
      if (running() && child && exited) {
        rememberWorkers()
        try {
          stopProxy(edge.prepared())
          await patiently(exited, 'nginx exit after nginx -s quit')
        } catch (error) {
          for (const pid of edge.alive()) process.kill(pid, 'SIGKILL')
          child.kill('SIGKILL')
          await exited
          throw error
        }
      }
      const left = edge.alive()
      for (const pid of left) process.kill(pid, 'SIGKILL')
      assert.deepEqual(left, [], 'nginx processes left running')
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
  return edge
}

/** The service in this process over HTTPS, its certificate from `tlsDir`'s CA, on a free port. */
export async function inProcessService(
  t: TestContext,
  tlsDir: string,
  env: Record<string, string> = { TRUST_PROXY: '127.0.0.1' },
) {
  const tls: TlsCredentials = await loadTlsCredentials({ enabled: true, dir: tlsDir, sans: [] })
  const harness = await makeApp(t, { tls, env })
  await harness.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = harness.app.server.address() as AddressInfo
  return { ...harness, port, upstream: `127.0.0.1:${port}`, base: `https://localhost:${port}` }
}
