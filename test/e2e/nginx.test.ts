// nginx in front of usersvc, both real: nginx as a child process (scripts/proxy.ts), TLS at the edge
// and again to the instances (proxy_ssl_verify against the local CA).
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import http2 from 'node:http2'
import { createServer as createHttpsServer } from 'node:https'
import { type AddressInfo, connect as netConnect } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { isAbsolute, join, resolve, sep } from 'node:path'
import { Readable } from 'node:stream'
import { describe, type TestContext, test } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { promisify } from 'node:util'
import { Agent, fetch, request } from 'undici'
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
import { TLS12_CIPHERS, TLS13_CIPHERS } from '../../src/tls/policy.ts'
import { freePort, makeApp, PASSWORD } from '../helpers.ts'
import {
  childrenOf,
  eventually,
  PATIENCE_MS,
  processes,
  ROOT,
  type Server,
  startServer,
} from './process.ts'

const NGINX = '/usr/sbin/nginx'
const HSTS = 'max-age=63072000'
const PROBLEM_JSON = /^application\/problem\+json/

// ---------------------------------------------------------------------------------------------
// Small helpers

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep)
}

/** Resolves with `promise`, or rejects after PATIENCE_MS (only a hang ever gets there). */
function patiently<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${PATIENCE_MS} ms`)), PATIENCE_MS)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

interface LogLine {
  msg?: string
  method?: string
  url?: string
  status?: number
  ip?: string
}

function requestLines(lines: string[]): LogLine[] {
  return lines.map((line) => JSON.parse(line) as LogLine).filter((l) => l.msg === 'request')
}

/** Waits for the service's request log line for `url` (the line is written after the reply). */
function logged(lines: string[], url: string): Promise<LogLine> {
  return eventually(
    () => requestLines(lines).find((l) => l.url === url),
    `request log line for ${url}\n${lines.join('\n')}`,
  )
}

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** undici's request: repeated response headers stay separate (an array), unlike fetch's Headers. */
async function call(
  url: string,
  dispatcher: Agent,
  options: {
    method?: 'GET' | 'POST'
    headers?: Record<string, string>
    body?: string | Buffer | Readable
  } = {},
): Promise<Reply> {
  const res = await request(url, {
    dispatcher,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
  })
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
}

function postJson(url: string, dispatcher: Agent, body: unknown, headers = {}): Promise<Reply> {
  return call(url, dispatcher, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

function http2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
): Promise<Reply> {
  return new Promise((done, fail) => {
    const stream = session.request(headers, { endStream: body === undefined })
    let responseHeaders: http2.IncomingHttpHeaders = {}
    let text = ''
    stream.on('response', (h) => {
      responseHeaders = h
    })
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk
    })
    stream.on('end', () =>
      done({ status: Number(responseHeaders[':status']), headers: responseHeaders, body: text }),
    )
    stream.on('error', fail)
    if (body !== undefined) stream.end(body)
  })
}

function assertProblem(reply: Reply, code: 'payload_too_large' | 'unavailable'): void {
  assert.match(String(reply.headers['content-type']), PROBLEM_JSON, reply.body)
  // The same document the service itself would send for that code.
  assert.deepEqual(JSON.parse(reply.body), toProblem(new AppError(code)))
  assert.equal(reply.headers['strict-transport-security'], HSTS)
  assert.equal(reply.headers['cache-control'], 'no-store')
}

// ---------------------------------------------------------------------------------------------
// nginx processes

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

interface Edge {
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
async function edgeFixture(t: TestContext): Promise<Edge> {
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
      await eventually(async () => {
        if (started.exitCode !== null || started.signalCode !== null)
          throw new Error(`nginx exited (${started.exitCode ?? started.signalCode}) on start`)
        const pid = await readFile(pidFile, 'utf8').catch(() => '')
        return pid.trim() === String(started.pid) ? true : undefined
      }, 'nginx.pid with the master pid')
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
async function inProcessService(
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

// ---------------------------------------------------------------------------------------------

describe('nginx in front of usersvc (real nginx, real TLS on both hops)', () => {
  test('prepareProxy: a config nginx -t accepts, a CA-signed nginx certificate, nothing written outside its dirs', async (t) => {
    const edge = await edgeFixture(t)
    const elsewhere = await mkdtemp(join(tmpdir(), 'usersvc-nginx-cwd-'))
    t.after(() => rm(elsewhere, { recursive: true, force: true }))
    const options: ProxyOptions = proxyOptionsFromEnv({
      PROXY_DIR: edge.runDir,
      TLS_DIR: edge.tlsDir,
      PROXY_HOST: '127.0.0.1',
      PROXY_HTTPS_PORT: String(edge.httpsPort),
      PROXY_HTTP_PORT: String(edge.httpPort),
      PROXY_UPSTREAMS: '127.0.0.1:1, 127.0.0.1:2',
      TLS_SAN: 'edge.example.test',
    })
    assert.deepEqual(options.upstreams, ['127.0.0.1:1', '127.0.0.1:2'])
    assert.deepEqual(options.sans, ['edge.example.test'])

    // prepareProxy in a child process under strace, started from an unrelated directory: every
    // file it (or the nginx -t it runs) creates, changes or removes must be under runDir or tlsDir.
    const trace = join(elsewhere, 'strace.txt')
    // Script and options through the environment: proxy.ts runs its CLI when it is argv[1].
    const script =
      'const { prepareProxy } = await import(process.env.PROXY_SCRIPT);' +
      'const p = await prepareProxy(JSON.parse(process.env.PROXY_OPTIONS));' +
      'process.stdout.write(JSON.stringify(p))'
    const args = [
      ...['-f', '-qq', '-y', '-s', '4096', '-e', 'trace=%file', '-o', trace],
      ...[process.execPath, '--input-type=module', '-e', script],
    ]
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (done, fail) => {
        const child = spawn('strace', args, {
          cwd: elsewhere,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            PROXY_SCRIPT: join(ROOT, 'scripts', 'proxy.ts'),
            PROXY_OPTIONS: JSON.stringify(options),
          },
        })
        let stdout = ''
        let stderr = ''
        child.stdout.setEncoding('utf8').on('data', (c: string) => {
          stdout += c
        })
        child.stderr.setEncoding('utf8').on('data', (c: string) => {
          stderr += c
        })
        child.on('error', (error: NodeJS.ErrnoException) =>
          fail(
            error.code === 'ENOENT'
              ? new Error('strace is not installed: apt-get install strace')
              : error,
          ),
        )
        child.on('close', (code) => done({ code, stdout, stderr }))
      },
    )
    assert.equal(result.code, 0, result.stderr)
    const prepared = JSON.parse(result.stdout) as PreparedProxy
    assert.equal(prepared.confPath, join(edge.runDir, 'nginx.conf'))
    assert.equal(prepared.caPath, join(edge.tlsDir, 'ca.crt'))

    const writes =
      /^\d+ +(open|openat|openat2|creat|mkdir|mkdirat|rmdir|rename|renameat|renameat2|link|linkat|symlink|symlinkat|unlink|unlinkat|chmod|fchmodat|fchmodat2|chown|lchown|fchownat|truncate|utime|utimes|utimensat|mknod|mknodat)\(/
    const writtenPaths: string[] = []
    for (const line of (await readFile(trace, 'utf8')).split('\n')) {
      const call = writes.exec(line)
      if (!call) continue
      if (
        /^open|^creat/.test(call[1] ?? '') &&
        !/O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/.test(line)
      )
        continue
      for (const m of line.matchAll(/(?:(?:AT_FDCWD|\d+)<([^>]*)>, )?"((?:[^"\\]|\\.)*)"/g)) {
        const path = m[2] ?? ''
        writtenPaths.push(isAbsolute(path) ? path : resolve(m[1] ?? elsewhere, path))
      }
    }
    assert.ok(
      writtenPaths.some((p) => p === join(edge.runDir, 'nginx.conf')),
      'the trace saw the config being written',
    )
    assert.ok(
      writtenPaths.some((p) => p === join(edge.runDir, 'error.log')),
      'the trace followed nginx -t too',
    )
    const outside = writtenPaths.filter(
      (p) => !within(p, edge.runDir) && !within(p, edge.tlsDir) && p !== '/dev/null',
    )
    assert.deepEqual(outside, [], 'prepareProxy wrote outside runDir and tlsDir')

    // The rendered config: every placeholder filled, every file it names under those dirs.
    const conf = await readFile(prepared.confPath, 'utf8')
    assert.doesNotMatch(conf, /\{\{|\}\}/)
    const user = userInfo()
    if (user.uid === 0) assert.match(conf, new RegExp(`^user ${user.username};$`, 'm'))
    else assert.doesNotMatch(conf, /^user /m)
    assert.match(conf, new RegExp(`listen 127\\.0\\.0\\.1:${edge.httpsPort} ssl http2;`))
    assert.match(conf, new RegExp(`listen 127\\.0\\.0\\.1:${edge.httpPort};`))
    assert.match(conf, /^ {4}server 127\.0\.0\.1:1;\n {4}server 127\.0\.0\.1:2;$/m)
    const files = [...conf.matchAll(/\s(\/[^\s;']+)/g)].map((m) => m[1] ?? '')
    assert.ok(files.length >= 10, conf)
    for (const file of files) {
      assert.ok(within(file, edge.runDir) || within(file, edge.tlsDir), `${file} in nginx.conf`)
    }

    // nginx -t, run here as well, accepts it.
    const tested = await promisify(execFile)(NGINX, [
      ...['-p', `${edge.runDir}/`, '-c', prepared.confPath, '-e', join(edge.runDir, 'error.log')],
      '-t',
    ])
    assert.match(tested.stderr, /syntax is ok/)
    assert.match(tested.stderr, /test is successful/)

    // nginx's certificate: signed by the local CA, for localhost, 127.0.0.1, ::1 and the extra name;
    // the private keys are the owner's alone.
    const ca = new X509Certificate(await edge.caPem())
    const cert = new X509Certificate(await readFile(join(edge.tlsDir, 'nginx.crt'), 'utf8'))
    assert.ok(cert.verify(ca.publicKey), 'nginx.crt is signed by the local CA')
    assert.ok(cert.checkIssued(ca))
    assert.equal(cert.checkHost('localhost'), 'localhost')
    assert.equal(cert.checkHost('edge.example.test'), 'edge.example.test')
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1')
    assert.equal(cert.checkIP('::1'), '::1')
    assert.ok(!cert.ca)
    const key = await readFile(join(edge.tlsDir, 'nginx.key'), 'utf8')
    assert.ok(cert.checkPrivateKey(createPrivateKey(key)), 'nginx.key is the key of nginx.crt')
    assert.equal((await stat(join(edge.tlsDir, 'nginx.key'))).mode & 0o777, 0o600)
    assert.equal((await stat(join(edge.tlsDir, 'ca.key'))).mode & 0o777, 0o600)

    // Idempotent: again, in this process, and nothing is re-issued.
    const again = await prepareProxy(options)
    assert.deepEqual(again, prepared)
    const certAgain = new X509Certificate(await readFile(join(edge.tlsDir, 'nginx.crt'), 'utf8'))
    assert.equal(certAgain.fingerprint256, cert.fingerprint256)
    assert.deepEqual(
      (await readdir(edge.tlsDir)).sort(),
      ['ca.crt', 'ca.key', 'nginx.crt', 'nginx.key'],
      'no temp files left behind',
    )
  })

  test('register, log in and GET /user/me through nginx over HTTPS; HTTP/2 by ALPN; one HSTS header', async (t) => {
    const edge = await edgeFixture(t)
    const service = await inProcessService(t, edge.tlsDir)
    await edge.start([service.upstream])
    const agent = await edge.agent()

    const created = await postJson(`${edge.base}/user/`, agent, {
      login: 'through-nginx',
      password: PASSWORD,
    })
    assert.equal(created.status, 201, created.body)
    const user = JSON.parse(created.body) as { id: string; login: string }
    assert.equal(user.login, 'through-nginx')
    assert.equal(created.headers.location, `/user/${user.id}`)
    assert.equal(created.headers['strict-transport-security'], HSTS)

    const session = await postJson(`${edge.base}/session/`, agent, {
      login: 'through-nginx',
      password: PASSWORD,
    })
    assert.equal(session.status, 200, session.body)
    assert.equal(session.headers['strict-transport-security'], HSTS)
    const { access_token } = JSON.parse(session.body) as { access_token: string }

    // fetch (undici) with the CA as the only extra trust anchor.
    const me = await fetch(`${edge.base}/user/me`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${access_token}` },
    })
    assert.equal(me.status, 200)
    assert.equal(((await me.json()) as { id: string }).id, user.id)
    assert.equal(me.headers.get('strict-transport-security'), HSTS)

    const anonymous = await call(`${edge.base}/user/me`, agent)
    assert.equal(anonymous.status, 401)
    assert.match(String(anonymous.headers['content-type']), PROBLEM_JSON)
    assert.equal(anonymous.headers['strict-transport-security'], HSTS)

    // Every request went through to the one instance.
    for (const url of ['/user/', '/session/', '/user/me']) await logged(service.logs, url)

    // The certificate nginx presents is nginx.crt, and verifies against ca.crt for 'localhost'.
    const caPem = await edge.caPem()
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: edge.httpsPort,
      servername: 'localhost',
      ca: caPem,
      ALPNProtocols: ['h2', 'http/1.1'],
    })
    t.after(() => socket.destroy())
    await once(socket, 'secureConnect')
    assert.equal(socket.authorized, true, String(socket.authorizationError))
    assert.equal(socket.alpnProtocol, 'h2')
    assert.ok(['TLSv1.2', 'TLSv1.3'].includes(socket.getProtocol() ?? ''))
    const presented = new X509Certificate(socket.getPeerCertificate(true).raw)
    const nginxCert = new X509Certificate(await readFile(join(edge.tlsDir, 'nginx.crt'), 'utf8'))
    assert.equal(presented.fingerprint256, nginxCert.fingerprint256)
    assert.ok(presented.verify(new X509Certificate(caPem).publicKey))
    assert.equal(presented.checkHost('localhost'), 'localhost')
    socket.destroy()

    // Without the local CA, the edge is not trusted.
    await assert.rejects(
      request(`${edge.base}/health/live`, { dispatcher: new Agent() }),
      /self[- ]signed|unable to (get|verify)|UNABLE_TO|certificate/i,
    )

    // HTTP/2: node:http2 negotiates h2 with nginx and gets the same API, HSTS once.
    const h2 = http2.connect(edge.base, { ca: caPem })
    t.after(() => h2.destroy())
    await once(h2, 'connect')
    assert.equal(h2.alpnProtocol, 'h2')
    const live = await http2Request(h2, { ':path': '/health/live?via=h2' })
    assert.equal(live.status, 200, live.body)
    assert.deepEqual(JSON.parse(live.body), { status: 'ok' })
    assert.equal(live.headers['strict-transport-security'], HSTS)
    const meH2 = await http2Request(h2, {
      ':path': '/user/me',
      authorization: `Bearer ${access_token}`,
    })
    assert.equal(meH2.status, 200, meH2.body)
    assert.equal(meH2.headers['strict-transport-security'], HSTS)
    h2.close()
    await logged(service.logs, '/health/live?via=h2')

    // The instance itself (reached directly) sends HSTS too: nginx hides that copy, keeps its own.
    const direct = await call(`${service.base}/health/live`, agent)
    assert.equal(direct.headers['strict-transport-security'], HSTS)
  })

  test('proxy_ssl_verify: an instance whose certificate is not from the local CA gets no traffic', async (t) => {
    const edge = await edgeFixture(t)
    const stranger = await mkdtemp(join(tmpdir(), 'usersvc-other-ca-'))
    t.after(() => rm(stranger, { recursive: true, force: true }))
    // Same names, another CA.
    const service = await inProcessService(t, stranger)
    await edge.start([service.upstream])
    const agent = await edge.agent()

    const reply = await call(`${edge.base}/health/live?probe=untrusted`, agent)
    assert.equal(reply.status, 503, reply.body)
    assertProblem(reply, 'unavailable')
    // A request that does reach it directly is logged; the one through nginx never was.
    const direct = await request(`${service.base}/health/live?probe=direct`, {
      dispatcher: new Agent({ connect: { ca: await readFile(join(stranger, 'ca.crt'), 'utf8') } }),
    })
    assert.equal(direct.statusCode, 200)
    await direct.body.dump()
    await logged(service.logs, '/health/live?probe=direct')
    assert.deepEqual(
      requestLines(service.logs).map((l) => l.url),
      ['/health/live?probe=direct'],
    )
  })

  test('two instances behind nginx: both serve, tokens cross over, a 50-way duplicate registration gives one 201', async (t) => {
    const edge = await edgeFixture(t)
    const env = { TRUST_PROXY: '127.0.0.1' }
    const a = await startServer(t, { tlsDir: edge.tlsDir, env })
    const b = await startServer(t, { tlsDir: edge.tlsDir, databaseUrl: a.databaseUrl, env })
    assert.notEqual(a.port, b.port)
    await edge.start([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`])

    // One keep-alive connection: one nginx worker, whose round robin alternates the instances.
    const single = await edge.agent({ connections: 1 })
    const created = await postJson(`${edge.base}/user/`, single, {
      login: 'shared-user',
      password: PASSWORD,
    })
    assert.equal(created.status, 201, created.body)
    for (let i = 0; i < 10; i++) {
      const session = await postJson(`${edge.base}/session/`, single, {
        login: 'shared-user',
        password: PASSWORD,
      })
      assert.equal(session.status, 200, session.body)
    }
    const servedLogin = (server: Server) =>
      server.waitForLine((line) => {
        const l = JSON.parse(line) as LogLine
        return l.msg === 'request' && l.url === '/session/' && l.status === 200
      })
    await servedLogin(a)
    await servedLogin(b)
    // Through nginx, each instance logs the client's address (nginx's X-Forwarded-For).
    for (const server of [a, b]) {
      for (const l of requestLines(server.stdout))
        assert.equal(l.ip, '127.0.0.1', server.stdout.join('\n'))
    }

    // A token from one instance is good at the other (the signing keys are in the shared database).
    const directLogin = async (from: Server) => {
      const session = await postJson(`${from.base}/session/`, await from.dispatcher(), {
        login: 'shared-user',
        password: PASSWORD,
      })
      assert.equal(session.status, 200, session.body)
      return (JSON.parse(session.body) as { access_token: string }).access_token
    }
    for (const [issuer, verifier] of [
      [a, b],
      [b, a],
    ] as const) {
      const token = await directLogin(issuer)
      const me = await call(`${verifier.base}/user/me`, await verifier.dispatcher(), {
        headers: { authorization: `Bearer ${token}` },
      })
      assert.equal(me.status, 200, me.body)
      assert.equal((JSON.parse(me.body) as { login: string }).login, 'shared-user')
    }

    // Fifty clients register the same login at once, on fifty connections, through nginx.
    const many = await edge.agent()
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        postJson(`${edge.base}/user/`, many, { login: 'race-winner', password: PASSWORD }),
      ),
    )
    const statuses = results.map((r) => r.status)
    assert.equal(statuses.filter((s) => s === 201).length, 1, JSON.stringify(statuses))
    for (const r of results.filter((r) => r.status !== 201)) {
      assert.equal(r.status, 409, r.body)
      assert.equal((JSON.parse(r.body) as { code: string }).code, 'login_taken')
    }
  })

  test('the plain listener only redirects: 308 to https on the HTTPS port, same path and query', async (t) => {
    const edge = await edgeFixture(t)
    const service = await inProcessService(t, edge.tlsDir)
    await edge.start([service.upstream])
    const plain = new Agent()
    t.after(() => plain.close())

    const path = '/user/me?probe=redirect&x=%20y'
    const get = await call(`http://127.0.0.1:${edge.httpPort}${path}`, plain)
    assert.equal(get.status, 308)
    assert.equal(get.headers.location, `https://127.0.0.1:${edge.httpsPort}${path}`)
    // HSTS is for HTTPS responses only (RFC 6797 §7.2).
    assert.equal(get.headers['strict-transport-security'], undefined)

    const post = await call(`http://127.0.0.1:${edge.httpPort}/user/?probe=redirect-post`, plain, {
      method: 'POST',
      headers: { host: `localhost:${edge.httpPort}`, 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'plain-text', password: PASSWORD }),
    })
    assert.equal(post.status, 308)
    assert.equal(
      post.headers.location,
      `https://localhost:${edge.httpsPort}/user/?probe=redirect-post`,
    )

    // Following it lands on the service over HTTPS.
    const followed = await call(String(get.headers.location), await edge.agent())
    assert.equal(followed.status, 401, followed.body)
    await logged(service.logs, path)
    assert.deepEqual(
      requestLines(service.logs).map((l) => l.url),
      [path],
      'nothing sent in clear text reached the service',
    )
  })

  test('bodies over 16 KiB are refused by nginx (413 problem document); 15 KiB still reaches the service', async (t) => {
    const edge = await edgeFixture(t)
    const service = await inProcessService(t, edge.tlsDir)
    await edge.start([service.upstream])
    const agent = await edge.agent()

    const body = (size: number) => {
      const shell = JSON.stringify({ login: '', password: PASSWORD })
      const text = JSON.stringify({ login: 'x'.repeat(size - shell.length), password: PASSWORD })
      assert.equal(Buffer.byteLength(text), size)
      return text
    }
    const big = body(20 * 1024)

    const tooLarge = await call(`${edge.base}/user/?probe=20k`, agent, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    })
    assert.equal(tooLarge.status, 413, tooLarge.body)
    assertProblem(tooLarge, 'payload_too_large')

    // Without a Content-Length (chunked), nginx counts as it reads.
    async function* chunks() {
      for (let i = 0; i < big.length; i += 1024) yield Buffer.from(big.slice(i, i + 1024))
    }
    const chunked = await call(`${edge.base}/user/?probe=20k-chunked`, agent, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Readable.from(chunks()),
    })
    assert.equal(chunked.status, 413, chunked.body)
    assertProblem(chunked, 'payload_too_large')

    // And over HTTP/2.
    const h2 = http2.connect(edge.base, { ca: await edge.caPem() })
    t.after(() => h2.destroy())
    const h2Reply = await http2Request(
      h2,
      {
        ':method': 'POST',
        ':path': '/user/?probe=20k-h2',
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(big)),
      },
      Buffer.from(big),
    )
    assert.equal(h2Reply.status, 413, h2Reply.body)
    assertProblem(h2Reply, 'payload_too_large')
    h2.close()

    // 15 KiB passes nginx: the service answers it (here: the login is far too long).
    const fits = await postJson(`${edge.base}/user/?probe=15k`, agent, JSON.parse(body(15 * 1024)))
    assert.notEqual(fits.status, 413, fits.body)
    assert.ok(fits.status >= 200 && fits.status < 500, `${fits.status} ${fits.body}`)
    const fitsLine = await logged(service.logs, '/user/?probe=15k')
    assert.equal(fitsLine.status, fits.status)
    assert.notEqual((JSON.parse(fits.body) as { code?: string }).code, 'payload_too_large')

    // The 15 KiB request was logged after the refused ones were sent: none of those reached it.
    assert.deepEqual(
      requestLines(service.logs).map((l) => l.url),
      ['/user/?probe=15k'],
    )
  })

  test('X-Forwarded-For: the service logs the real client address, never a claimed one', async (t) => {
    const edge = await edgeFixture(t)
    const trusting = await inProcessService(t, edge.tlsDir)
    const ignoring = await edgeFixture(t)
    const untrusting = await inProcessService(t, ignoring.tlsDir, {})
    await edge.start([trusting.upstream])
    await ignoring.start([untrusting.upstream])
    const spoof = { 'x-forwarded-for': '6.6.6.6' }

    // Through nginx, from 127.0.0.2 (HTTP/1.1): nginx replaces the claim with the address it saw.
    const from2 = await edge.agent({ localAddress: '127.0.0.2' })
    const viaNginx = await call(`${edge.base}/health/live?probe=xff-edge`, from2, {
      headers: spoof,
    })
    assert.equal(viaNginx.status, 200, viaNginx.body)
    assert.equal((await logged(trusting.logs, '/health/live?probe=xff-edge')).ip, '127.0.0.2')

    // The same over HTTP/2.
    const ca = await edge.caPem()
    const h2 = http2.connect(edge.base, {
      createConnection: () =>
        tlsConnect({
          socket: netConnect({
            host: '127.0.0.1',
            port: edge.httpsPort,
            localAddress: '127.0.0.2',
          }),
          servername: 'localhost',
          ca,
          ALPNProtocols: ['h2'],
        }),
    })
    t.after(() => h2.destroy())
    const viaH2 = await http2Request(h2, { ':path': '/health/live?probe=xff-h2', ...spoof })
    assert.equal(viaH2.status, 200, viaH2.body)
    assert.equal((await logged(trusting.logs, '/health/live?probe=xff-h2')).ip, '127.0.0.2')
    h2.close()

    // Straight to the service from 127.0.0.3: not a trusted proxy, so its header is ignored.
    const from3 = await edge.agent({ localAddress: '127.0.0.3' })
    const direct = await call(`${trusting.base}/health/live?probe=xff-direct`, from3, {
      headers: spoof,
    })
    assert.equal(direct.status, 200, direct.body)
    assert.equal((await logged(trusting.logs, '/health/live?probe=xff-direct')).ip, '127.0.0.3')

    // TRUST_PROXY unset: even nginx's X-Forwarded-For is ignored; the address is nginx's own.
    const from2b = await ignoring.agent({ localAddress: '127.0.0.2' })
    const unset = await call(`${ignoring.base}/health/live?probe=xff-untrusted`, from2b, {
      headers: spoof,
    })
    assert.equal(unset.status, 200, unset.body)
    assert.equal(
      (await logged(untrusting.logs, '/health/live?probe=xff-untrusted')).ip,
      '127.0.0.1',
    )

    for (const line of [...trusting.logs, ...untrusting.logs])
      assert.ok(!line.includes('6.6.6.6'), line)
  })

  test('upstream down: nginx answers 503 with an "unavailable" problem document, not an HTML 502', async (t) => {
    const edge = await edgeFixture(t)
    const server = await startServer(t, { tlsDir: edge.tlsDir, env: { TRUST_PROXY: '127.0.0.1' } })
    await edge.start([`127.0.0.1:${server.port}`])
    const agent = await edge.agent()

    const up = await call(`${edge.base}/health/ready`, agent)
    assert.equal(up.status, 200, up.body)

    assert.ok(server.child.kill('SIGTERM'))
    assert.deepEqual(await patiently(server.exited, 'usersvc exit'), { code: 0, signal: null })

    const down = await call(`${edge.base}/health/ready`, agent)
    assert.equal(down.status, 503, down.body)
    assertProblem(down, 'unavailable')
    assert.equal(down.headers['retry-after'], '1')
    assert.doesNotMatch(down.body, /<html/i)

    const post = await postJson(`${edge.base}/user/`, agent, {
      login: 'nobody-home',
      password: PASSWORD,
    })
    assert.equal(post.status, 503, post.body)
    assertProblem(post, 'unavailable')
  })

  test('TLS at the edge (sslscan): only TLS 1.2 and 1.3, only the policy ciphers', async (t) => {
    const edge = await edgeFixture(t)
    await edge.start(['127.0.0.1:1'])
    const scan = await promisify(execFile)(
      'sslscan',
      ['--no-colour', `127.0.0.1:${edge.httpsPort}`],
      {
        maxBuffer: 1 << 22,
      },
    ).catch((error: NodeJS.ErrnoException & { stdout?: string; stderr?: string }) => {
      if (error.code === 'ENOENT') assert.fail('sslscan is not installed: apt-get install sslscan')
      throw error
    })
    const output = scan.stdout
    const protocols = Object.fromEntries(
      [...output.matchAll(/^(SSLv2|SSLv3|TLSv1\.[0-3]) +(enabled|disabled)$/gm)].map((m) => [
        m[1],
        m[2],
      ]),
    )
    assert.deepEqual(
      protocols,
      {
        SSLv2: 'disabled',
        SSLv3: 'disabled',
        'TLSv1.0': 'disabled',
        'TLSv1.1': 'disabled',
        'TLSv1.2': 'enabled',
        'TLSv1.3': 'enabled',
      },
      output,
    )
    const accepted = [...output.matchAll(/^(?:Preferred|Accepted) +(\S+) +\d+ bits +(\S+)/gm)].map(
      (m) => ({ protocol: m[1], cipher: m[2] ?? '' }),
    )
    assert.ok(
      accepted.some((c) => c.protocol === 'TLSv1.3'),
      output,
    )
    assert.ok(
      accepted.some((c) => c.protocol === 'TLSv1.2'),
      output,
    )
    const allowed = new Set([...TLS13_CIPHERS, ...TLS12_CIPHERS])
    for (const { protocol, cipher } of accepted) {
      assert.ok(['TLSv1.2', 'TLSv1.3'].includes(protocol ?? ''), `${protocol} ${cipher}`)
      assert.ok(
        allowed.has(cipher),
        `nginx accepts ${cipher} (${protocol}), not in src/tls/policy.ts`,
      )
    }
  })

  test('stopProxy quits gracefully: the request in flight finishes, then nginx exits and removes its pid file', async (t) => {
    const edge = await edgeFixture(t)
    // A stand-in instance that holds /slow until told to answer.
    const credentials = await loadTlsCredentials({ enabled: true, dir: edge.tlsDir, sans: [] })
    let release: () => void = () => {}
    const released = new Promise<void>((done) => {
      release = done
    })
    let arrived: () => void = () => {}
    const slowArrived = new Promise<void>((done) => {
      arrived = done
    })
    const upstream = createHttpsServer(
      { key: credentials.key, cert: credentials.cert },
      (req, res) => {
        if (req.url === '/slow') {
          arrived()
          void released.then(() => res.end('finished'))
        } else res.end('ok')
      },
    )
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    t.after(() => {
      upstream.closeAllConnections()
      upstream.close()
    })
    await edge.start([`127.0.0.1:${(upstream.address() as AddressInfo).port}`])
    const child = edge.child()
    const pidFile = join(edge.runDir, 'nginx.pid')
    assert.equal((await readFile(pidFile, 'utf8')).trim(), String(child.pid))
    const agent = await edge.agent()
    const inFlight = call(`${edge.base}/slow`, agent)
    await patiently(slowArrived, 'request at the upstream')
    // The master and the worker holding the request (remembered, to check they are gone later).
    assert.ok(edge.alive().length >= 2, 'nginx master and workers are running')

    stopProxy(edge.prepared())
    // nginx stops listening at once (new connections are refused)...
    await eventually(
      () =>
        new Promise<true | undefined>((done) => {
          const socket = netConnect(edge.httpsPort, '127.0.0.1')
          socket.once('connect', () => {
            socket.destroy()
            done(undefined)
          })
          socket.once('error', (error: NodeJS.ErrnoException) =>
            done(error.code === 'ECONNREFUSED' ? true : undefined),
          )
        }),
      'nginx closing its listening sockets',
    )
    // ...but stays until the request it has is answered.
    assert.equal(child.exitCode, null)
    assert.equal(child.signalCode, null)
    release()
    const reply = await patiently(inFlight, 'the in-flight response')
    assert.equal(reply.status, 200)
    assert.equal(reply.body, 'finished')

    assert.deepEqual(await patiently(edge.exited(), 'nginx exit'), { code: 0, signal: null })
    assert.equal(existsSync(pidFile), false, 'nginx.pid is removed')
    assert.deepEqual(edge.alive(), [], 'no nginx process of this run is left')
  })
})
