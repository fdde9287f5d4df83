// The default path as a real process: `usersvc serve` with no TLS settings serves HTTPS with a
// certificate from its local CA. test/e2e/server.test.ts covers TLS=off in depth.
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { existsSync } from 'node:fs'
import { copyFile, readFile, writeFile } from 'node:fs/promises'
import { connect as http2Connect } from 'node:http2'
import { join, resolve } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import * as tls from 'node:tls'
import { promisify } from 'node:util'
import { fetch } from 'undici'
import { DEFAULT_SANS, ensureLeaf, ensureLocalCa } from '../../src/tls/local-ca.ts'
import { PATIENCE_MS } from '../support/eventually.ts'
import { ROOT, tempDir } from '../support/harness.ts'
import { jsonPost } from '../support/http.ts'
import { freePort } from '../support/ports.ts'
import { type Server, startServer, waitFor } from '../support/processes.ts'
import { PASSWORD } from '../support/requests.ts'

interface Banner {
  url: string
  caPath: string | undefined
  fingerprint: string | undefined
  curl: string[]
}

/** What `serve` told the person at the terminal (stderr). */
function banner(server: Server): Banner {
  const text = server.stderr()
  const url = /usersvc is listening on (\S+)/.exec(text)?.[1]
  const curl = /^ {2}try: +curl (.+)$/m.exec(text)?.[1]
  assert.ok(url && curl, `no banner on stderr:\n${text}`)
  return {
    url,
    caPath: /^ {2}local CA: +(\S+)$/m.exec(text)?.[1],
    fingerprint: /^ {2}SHA-256: +(\S+)$/m.exec(text)?.[1],
    curl: curl.trim().split(/\s+/),
  }
}

interface Peer {
  fingerprint: string
  authorized: boolean
  alpn: string | false | null
  protocol: string | null
}

/** A new TLS connection to the server on 127.0.0.1 for `localhost`: what certificate it shows. */
function peer(port: number, options: tls.ConnectionOptions): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options })
    socket.once('secureConnect', () => {
      resolve({
        fingerprint: socket.getPeerCertificate().fingerprint256,
        authorized: socket.authorized,
        alpn: socket.alpnProtocol ?? null,
        protocol: socket.getProtocol(),
      })
      socket.destroy()
    })
    socket.once('error', reject)
  })
}

/** Certificate files from a CA of their own, as an operator (or certbot) would provide. */
async function certificateFiles(t: TestContext) {
  const dir = await tempDir(t)
  const ca = await ensureLocalCa(dir)
  const leaf = await ensureLeaf(ca, 'leaf', [...DEFAULT_SANS])
  return {
    ca: ca.caPem,
    caFingerprint: ca.fingerprint,
    certPath: leaf.certPath,
    keyPath: leaf.keyPath,
    fingerprint: new X509Certificate(leaf.cert).fingerprint256,
  }
}

/** An HTTP/2 session to the server: one TLS connection, kept open until the test ends. */
function h2Session(t: TestContext, server: Server, ca: string) {
  const session = http2Connect(`https://localhost:${server.port}`, { ca })
  t.after(() => session.destroy())
  const get = (path: string) =>
    new Promise<{ status: unknown; body: string }>((resolve, reject) => {
      const stream = session.request({ ':path': path })
      let status: unknown
      let body = ''
      stream.on('response', (headers) => {
        status = headers[':status']
      })
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk
      })
      stream.on('end', () => resolve({ status, body }))
      stream.on('error', reject)
      stream.end()
    })
  return { session, get }
}

/** Resolves with the first log line after the first `skip` lines that satisfies `match`. */
function nextLogLine(server: Server, skip: number, match: (line: string) => boolean) {
  return waitFor(
    server.child,
    () => server.stdout.slice(skip).find(match),
    'expected log line',
    () => `stdout:\n${server.stdout.join('\n')}\nstderr:\n${server.stderr()}`,
  )
}

const logged = (msg: string) => (line: string) => (JSON.parse(line) as { msg?: string }).msg === msg

describe('usersvc serve over HTTPS (real process)', () => {
  test('serves HTTPS by default and says how to trust it; the printed curl works', async (t) => {
    const server = await startServer(t)
    const said = banner(server)
    assert.equal(said.url, `https://localhost:${server.port}`)
    assert.equal(server.base, said.url)
    assert.match(
      server.stderr(),
      /usersvc is listening on https:\/\/localhost:\d+ \(HTTP\/2 and HTTP\/1\.1\)/,
    )

    const caFile = join(server.tlsDir, 'ca.crt')
    assert.ok(said.caPath, `no local CA line:\n${server.stderr()}`)
    assert.equal(resolve(ROOT, said.caPath), caFile, 'the CA path, relative to the working dir')
    const caPem = await readFile(caFile, 'utf8')
    assert.equal(said.fingerprint, new X509Certificate(caPem).fingerprint256)
    assert.match(said.fingerprint ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)

    assert.deepEqual(said.curl, [
      '--cacert',
      said.caPath,
      `https://localhost:${server.port}/health/live`,
    ])
    const curl = await promisify(execFile)('curl', said.curl, {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: PATIENCE_MS,
    })
    assert.equal(curl.stdout, '{"status":"ok"}')

    const live = await fetch(`${server.base}/health/live`, {
      dispatcher: await server.dispatcher(),
    })
    assert.equal(live.status, 200)
    assert.equal(live.headers.get('strict-transport-security'), 'max-age=63072000')
    assert.deepEqual(await live.json(), { status: 'ok' })

    const shown = await peer(server.port, { ca: caPem, ALPNProtocols: ['h2', 'http/1.1'] })
    assert.equal(shown.authorized, true)
    assert.equal(shown.alpn, 'h2')
    assert.equal(
      shown.fingerprint,
      new X509Certificate(await readFile(join(server.tlsDir, 'server.crt'))).fingerprint256,
    )
  })

  test('register, log in and GET /user/me over HTTPS', async (t) => {
    const server = await startServer(t)
    const dispatcher = await server.dispatcher()
    const created = await fetch(`${server.base}/user/`, {
      ...jsonPost({ login: 'alice', password: PASSWORD }),
      dispatcher,
    })
    assert.equal(created.status, 201)
    const user = (await created.json()) as { id: string; login: string }
    assert.equal(user.login, 'alice')
    assert.equal(created.headers.get('strict-transport-security'), 'max-age=63072000')

    const session = await fetch(`${server.base}/session/`, {
      ...jsonPost({ login: 'alice', password: PASSWORD }),
      dispatcher,
    })
    assert.equal(session.status, 200)
    const tokens = (await session.json()) as { access_token: string; token_type: string }
    assert.equal(tokens.token_type, 'Bearer')

    const me = await fetch(`${server.base}/user/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
      dispatcher,
    })
    assert.equal(me.status, 200)
    assert.deepEqual(((await me.json()) as { id: string }).id, user.id)

    const anonymous = await fetch(`${server.base}/user/me`, { dispatcher })
    assert.equal(anonymous.status, 401)
    assert.equal(anonymous.headers.get('strict-transport-security'), 'max-age=63072000')
  })

  test('the local CA and certificate are reused across restarts', async (t) => {
    const first = await startServer(t)
    const firstBanner = banner(first)
    const caPem = await readFile(join(first.tlsDir, 'ca.crt'), 'utf8')
    const firstPeer = await peer(first.port, { ca: caPem })
    assert.ok(first.child.kill('SIGTERM'))
    assert.deepEqual(await first.exited, { code: 0, signal: null })

    const second = await startServer(t, { tlsDir: first.tlsDir, databaseUrl: first.databaseUrl })
    const secondBanner = banner(second)
    assert.equal(secondBanner.fingerprint, firstBanner.fingerprint)
    assert.equal(await readFile(join(second.tlsDir, 'ca.crt'), 'utf8'), caPem)
    const secondPeer = await peer(second.port, { ca: caPem })
    assert.equal(secondPeer.authorized, true, 'the CA trusted before still works')
    assert.equal(secondPeer.fingerprint, firstPeer.fingerprint, 'the same server certificate')
  })

  test('two instances starting at once on a fresh TLS_DIR share one local CA', async (t) => {
    const tlsDir = join(await tempDir(t), 'tls')
    const [a, b] = await Promise.all([startServer(t, { tlsDir }), startServer(t, { tlsDir })])
    const caPem = await readFile(join(tlsDir, 'ca.crt'), 'utf8')
    const fingerprint = new X509Certificate(caPem).fingerprint256
    assert.equal(banner(a).fingerprint, fingerprint)
    assert.equal(banner(b).fingerprint, fingerprint)
    for (const server of [a, b]) {
      const shown = await peer(server.port, { ca: caPem })
      assert.equal(shown.authorized, true, `port ${server.port}`)
    }
    assert.ok(
      new X509Certificate(caPem).checkPrivateKey(
        createPrivateKey(await readFile(join(tlsDir, 'ca.key'), 'utf8')),
      ),
    )
  })

  test('TLS_CERT_FILE and TLS_KEY_FILE are served instead of the local CA', async (t) => {
    const files = await certificateFiles(t)
    const server = await startServer(t, {
      env: { TLS_CERT_FILE: files.certPath, TLS_KEY_FILE: files.keyPath },
    })
    const shown = await peer(server.port, { ca: files.ca })
    assert.equal(shown.authorized, true)
    assert.equal(shown.fingerprint, files.fingerprint)

    const said = banner(server)
    assert.equal(said.url, `https://localhost:${server.port}`)
    assert.equal(said.caPath, undefined, 'no local CA to talk about')
    assert.equal(said.fingerprint, undefined)
    assert.deepEqual(said.curl, [`https://localhost:${server.port}/health/live`])
    assert.equal(existsSync(join(server.tlsDir, 'ca.crt')), false, 'no local CA made')
  })

  test('a TLS_KEY_FILE that is not the key of TLS_CERT_FILE stops start-up, naming it', async (t) => {
    const a = await certificateFiles(t)
    const b = await certificateFiles(t)
    const dir = await tempDir(t)
    const child = spawn(process.execPath, ['src/cli.ts', 'serve'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        DATABASE_URL: `sqlite:${join(dir, 'usersvc.db')}`,
        TLS_DIR: join(dir, 'tls'),
        PORT: '0',
        TLS_CERT_FILE: a.certPath,
        TLS_KEY_FILE: b.keyPath,
      },
    })
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.stdout.resume()
    const code = await new Promise<number | null>((done) => child.on('close', done))
    assert.equal(code, 1, stderr)
    assert.match(stderr, /TLS_KEY_FILE/)
    assert.doesNotMatch(stderr, /listening/)
  })

  test('SIGHUP reloads the certificate files: new connections get the new one, open ones carry on', async (t) => {
    const a = await certificateFiles(t)
    const b = await certificateFiles(t)
    const live = await tempDir(t)
    const certFile = join(live, 'fullchain.pem')
    const keyFile = join(live, 'privkey.pem')
    await copyFile(a.certPath, certFile)
    await copyFile(a.keyPath, keyFile)
    const server = await startServer(t, {
      env: { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile },
    })

    // A connection opened before the reload, kept open across it.
    const old = h2Session(t, server, a.ca)
    assert.deepEqual(await old.get('/health/live'), { status: 200, body: '{"status":"ok"}' })
    const oldSocket = old.session.socket as tls.TLSSocket
    assert.equal(oldSocket.getPeerCertificate().fingerprint256, a.fingerprint)

    // The operator (or certbot) replaces the files with a certificate from another CA.
    await writeFile(certFile, await readFile(b.certPath))
    await writeFile(keyFile, await readFile(b.keyPath))
    const seen = server.stdout.length
    assert.ok(server.child.kill('SIGHUP'))
    const loaded = JSON.parse(
      await nextLogLine(server, seen, logged('TLS certificate loaded')),
    ) as { reason?: string; notAfter?: string }
    assert.equal(loaded.reason, 'SIGHUP')
    assert.equal(
      new Date(loaded.notAfter ?? '').getTime(),
      new Date(new X509Certificate(await readFile(b.certPath)).validTo).getTime(),
    )

    const fresh = await peer(server.port, { ca: b.ca, ALPNProtocols: ['h2', 'http/1.1'] })
    assert.equal(fresh.authorized, true)
    assert.equal(fresh.fingerprint, b.fingerprint)
    // The TLS policy and ALPN survive the reload.
    assert.equal(fresh.alpn, 'h2')
    await assert.rejects(
      peer(server.port, {
        ca: b.ca,
        minVersion: 'TLSv1.1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
      /protocol version|unsupported protocol/i,
    )
    // A client that trusts only the old CA cannot verify new connections.
    await assert.rejects(peer(server.port, { ca: a.ca }), (error: NodeJS.ErrnoException) =>
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/.test(error.code ?? ''),
    )

    // The connection from before still works, still with certificate A.
    assert.deepEqual(await old.get('/health/live'), { status: 200, body: '{"status":"ok"}' })
    assert.equal(oldSocket.getPeerCertificate().fingerprint256, a.fingerprint)
    assert.equal(server.child.exitCode, null, 'still running')
  })

  test('a SIGHUP with broken files keeps the current certificate and says so', async (t) => {
    const a = await certificateFiles(t)
    const b = await certificateFiles(t)
    const live = await tempDir(t)
    const certFile = join(live, 'fullchain.pem')
    const keyFile = join(live, 'privkey.pem')
    await copyFile(a.certPath, certFile)
    await copyFile(a.keyPath, keyFile)
    const server = await startServer(t, {
      env: { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile },
    })
    // Half-replaced: the new certificate, the old key.
    await writeFile(certFile, await readFile(b.certPath))
    const seen = server.stdout.length
    assert.ok(server.child.kill('SIGHUP'))
    const failed = JSON.parse(
      await nextLogLine(
        server,
        seen,
        logged('TLS certificate reload failed; keeping the current one'),
      ),
    ) as { level?: number; reason?: string }
    assert.equal(failed.level, 50, 'logged as an error')
    assert.equal(failed.reason, 'SIGHUP')

    const shown = await peer(server.port, { ca: a.ca })
    assert.equal(shown.fingerprint, a.fingerprint, 'still certificate A')
    assert.equal(server.child.exitCode, null, 'still running')
  })

  test('TLS=off serves plain HTTP on the given port, without HSTS and without a local CA', async (t) => {
    const port = await freePort()
    const server = await startServer(t, { env: { TLS: 'off', PORT: String(port) } })
    assert.equal(server.port, port)
    const said = banner(server)
    assert.equal(said.url, `http://localhost:${port}`)
    assert.doesNotMatch(server.stderr(), /HTTP\/2/)
    assert.equal(said.caPath, undefined)
    assert.equal(said.fingerprint, undefined)
    assert.deepEqual(said.curl, [`http://localhost:${port}/health/live`])

    const live = await fetch(`http://127.0.0.1:${port}/health/live`)
    assert.equal(live.status, 200)
    assert.deepEqual(await live.json(), { status: 'ok' })
    assert.equal(live.headers.get('strict-transport-security'), null)
    assert.equal(existsSync(server.tlsDir), false, 'no local CA made')
    // And nobody speaks TLS there.
    await assert.rejects(peer(port, { rejectUnauthorized: false }))
  })
})
