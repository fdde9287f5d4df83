// scripts/proxy.ts itself: the options it reads, the files prepareProxy writes (and nowhere else),
// the config and certificate it makes, and stopProxy's graceful quit. Real nginx, real TLS.
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { createServer as createHttpsServer } from 'node:https'
import { type AddressInfo, connect as netConnect } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { describe, test } from 'node:test'
import { promisify } from 'node:util'
import {
  type PreparedProxy,
  type ProxyOptions,
  prepareProxy,
  proxyOptionsFromEnv,
  stopProxy,
} from '../../scripts/proxy.ts'
import { loadTlsCredentials } from '../../src/tls/credentials.ts'
import { eventually, patiently } from '../support/eventually.ts'
import { ROOT } from '../support/harness.ts'
import { call } from '../support/http.ts'
import { type Edge, edgeFixture, NGINX, within } from '../support/nginx.ts'

/** The options of `edge`, from the environment as the CLI reads it, with two upstreams and a SAN. */
function optionsOf(edge: Edge): ProxyOptions {
  return proxyOptionsFromEnv({
    PROXY_DIR: edge.runDir,
    TLS_DIR: edge.tlsDir,
    PROXY_HOST: '127.0.0.1',
    PROXY_HTTPS_PORT: String(edge.httpsPort),
    PROXY_HTTP_PORT: String(edge.httpPort),
    PROXY_UPSTREAMS: '127.0.0.1:1, 127.0.0.1:2',
    TLS_SAN: 'edge.example.test',
  })
}

/** Runs prepareProxy in a child process under strace; returns its result and every path it wrote. */
async function tracedPrepare(options: ProxyOptions, cwd: string) {
  const trace = join(cwd, 'strace.txt')
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
        cwd,
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
      writtenPaths.push(isAbsolute(path) ? path : resolve(m[1] ?? cwd, path))
    }
  }
  return { prepared: JSON.parse(result.stdout) as PreparedProxy, writtenPaths }
}

describe('scripts/proxy.ts (real nginx)', () => {
  test('proxyOptionsFromEnv reads the upstreams and the extra certificate names', async (t) => {
    const options = optionsOf(await edgeFixture(t))
    assert.deepEqual(options.upstreams, ['127.0.0.1:1', '127.0.0.1:2'])
    assert.deepEqual(options.sans, ['edge.example.test'])
  })

  test('prepareProxy, nginx -t included, writes nothing outside its run and TLS dirs', async (t) => {
    const edge = await edgeFixture(t)
    // Started from an unrelated directory: every file prepareProxy (or the nginx -t it runs)
    // creates, changes or removes must be under runDir or tlsDir.
    const elsewhere = await mkdtemp(join(tmpdir(), 'usersvc-nginx-cwd-'))
    t.after(() => rm(elsewhere, { recursive: true, force: true }))
    const { prepared, writtenPaths } = await tracedPrepare(optionsOf(edge), elsewhere)
    assert.equal(prepared.confPath, join(edge.runDir, 'nginx.conf'))
    assert.equal(prepared.caPath, join(edge.tlsDir, 'ca.crt'))
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
  })

  test('prepareProxy renders a config nginx -t accepts, every placeholder filled and every file under its dirs', async (t) => {
    const edge = await edgeFixture(t)
    const prepared = await prepareProxy(optionsOf(edge))
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
  })

  test('prepareProxy gives nginx a certificate from the local CA for localhost, 127.0.0.1, ::1 and TLS_SAN; keys are the owner’s alone', async (t) => {
    const edge = await edgeFixture(t)
    await prepareProxy(optionsOf(edge))
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
  })

  test('prepareProxy is idempotent: the same result, nothing re-issued, no temp files left', async (t) => {
    const edge = await edgeFixture(t)
    const options = optionsOf(edge)
    const prepared = await prepareProxy(options)
    const cert = new X509Certificate(await readFile(join(edge.tlsDir, 'nginx.crt'), 'utf8'))
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
      { what: 'nginx closing its listening sockets' },
    )
    // ...but stays until the request it has is answered.
    assert.equal(child.exitCode, null)
    assert.equal(child.signalCode, null)
    release()
    const reply = await patiently(inFlight, 'the in-flight response')
    assert.equal(reply.statusCode, 200)
    assert.equal(reply.body, 'finished')

    assert.deepEqual(await patiently(edge.exited(), 'nginx exit'), { code: 0, signal: null })
    assert.equal(existsSync(pidFile), false, 'nginx.pid is removed')
    assert.deepEqual(edge.alive(), [], 'no nginx process of this run is left')
  })
})
