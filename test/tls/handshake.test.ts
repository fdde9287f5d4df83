// Real TLS handshakes against the app serving HTTPS in-process: what a browser, curl or a load
// balancer sees. Each refusal is paired with a control server that accepts the very same client
// options, so a refusal proves the policy, not a client that offered nothing.
import assert from 'node:assert/strict'
import { webcrypto, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { connect as http2Connect } from 'node:http2'
import { request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { type TestContext, test } from 'node:test'
import * as tls from 'node:tls'
// @peculiar/x509 needs this polyfill before it is loaded (as in src/tls/local-ca.ts).
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { loadTlsCredentials } from '../../src/tls/credentials.ts'
import { CURVES, HSTS, TLS12_CIPHERS, TLS13_CIPHERS } from '../../src/tls/policy.ts'
import { makeApp, tempDir } from '../support/harness.ts'

x509.cryptoProvider.set(globalThis.crypto as never)

interface Served {
  port: number
  /** The local CA certificate (PEM) that signed the server's certificate. */
  ca: string
  cert: string
}

/** The app serving HTTPS with a certificate from a fresh local CA, on 127.0.0.1:<free port>. */
async function tlsApp(t: TestContext): Promise<Served> {
  const dir = await tempDir(t)
  const creds = await loadTlsCredentials({ enabled: true, dir, sans: [] })
  assert.ok(creds.local)
  const { app } = await makeApp(t, { tls: creds })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  return { port, ca: await readFile(creds.local.caPath, 'utf8'), cert: creds.cert }
}

/** Key, certificate and CA from another fresh local CA, for a control server. */
async function localCredentials(
  t: TestContext,
): Promise<{ key: string; cert: string; ca: string }> {
  const creds = await loadTlsCredentials({ enabled: true, dir: await tempDir(t), sans: [] })
  assert.ok(creds.local)
  return { key: creds.key, cert: creds.cert, ca: await readFile(creds.local.caPath, 'utf8') }
}

/** A self-signed RSA certificate for localhost (the local CA makes ECDSA ones only). */
async function rsaCertificate(): Promise<{ key: string; cert: string }> {
  const alg = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: 2048,
  }
  const keys = (await webcrypto.subtle.generateKey(alg, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=localhost',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 60 * 60 * 1000),
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }])],
  })
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()
  return {
    key: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`,
    cert: cert.toString('pem'),
  }
}

/** The app serving HTTPS with an RSA certificate (as with TLS_CERT_FILE from a public CA). */
async function rsaApp(t: TestContext): Promise<Served> {
  const creds = await rsaCertificate()
  const { app } = await makeApp(t, { tls: creds })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  return { port, ca: creds.cert, cert: creds.cert }
}

/** A bare node:tls server with the given (lax) options: the control for a refusal. */
async function controlServer(
  t: TestContext,
  credentials: { key: string; cert: string },
  options: tls.TlsOptions,
): Promise<number> {
  const server = tls.createServer({ ...credentials, ...options }, (socket) => socket.end())
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

interface Handshake {
  protocol: string | null
  cipher: string
  alpn: string | false | null
  authorized: boolean
  fingerprint: string | undefined
  /** The key-exchange group (X25519, prime256v1, …). */
  group: string | undefined
}

/** Connects, completes the handshake, reports what was negotiated, and hangs up. */
function handshake(port: number, options: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options })
    socket.once('secureConnect', () => {
      resolve({
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
        alpn: socket.alpnProtocol ?? null,
        authorized: socket.authorized,
        fingerprint: socket.getPeerCertificate().fingerprint256,
        group: (socket.getEphemeralKeyInfo() as tls.EphemeralKeyInfo | null)?.name,
      })
      socket.destroy()
    })
    socket.once('error', reject)
  })
}

/** Connects expecting the handshake to fail; resolves with the client's error. */
function refused(port: number, options: tls.ConnectionOptions): Promise<NodeJS.ErrnoException> {
  return handshake(port, options).then(
    (result) => {
      throw new assert.AssertionError({
        message: `expected a refused handshake, got ${JSON.stringify(result)}`,
      })
    },
    (error: NodeJS.ErrnoException) => error,
  )
}

test('a client trusting the local CA verifies the certificate for localhost and 127.0.0.1', async (t) => {
  const served = await tlsApp(t)
  const result = await handshake(served.port, { ca: served.ca, servername: 'localhost' })
  assert.equal(result.authorized, true)
  assert.equal(result.protocol, 'TLSv1.3')
  assert.equal(result.fingerprint, new X509Certificate(served.cert).fingerprint256)

  // By address: https://127.0.0.1:PORT checks the IP SAN.
  const status = await new Promise<number | undefined>((resolve, reject) => {
    httpsRequest(`https://127.0.0.1:${served.port}/health/live`, { ca: served.ca }, (res) => {
      res.resume()
      resolve(res.statusCode)
    })
      .on('error', reject)
      .end()
  })
  assert.equal(status, 200)
})

test('a client that does not trust the local CA refuses the certificate', async (t) => {
  const served = await tlsApp(t)
  const error = await refused(served.port, {})
  assert.match(
    error.code ?? '',
    /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/,
    `${error.code}: ${error.message}`,
  )
  // Another local CA is no better.
  const other = await tlsApp(t)
  const wrongCa = await refused(served.port, { ca: other.ca })
  assert.match(wrongCa.code ?? '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/)
})

test('the certificate is not valid for a name it does not cover', async (t) => {
  const served = await tlsApp(t)
  const error = await refused(served.port, { ca: served.ca, servername: 'example.com' })
  assert.equal(error.code, 'ERR_TLS_CERT_ALTNAME_INVALID', error.message)
})

for (const version of ['TLSv1', 'TLSv1.1'] as const) {
  test(`${version} is refused (the same client gets through to a lax server)`, async (t) => {
    const served = await tlsApp(t)
    const client: tls.ConnectionOptions = {
      ca: served.ca,
      minVersion: version,
      maxVersion: version,
      ciphers: 'DEFAULT@SECLEVEL=0',
    }
    const error = await refused(served.port, client)
    assert.match(error.code ?? '', /^ERR_SSL_/, `${error.code}: ${error.message}`)
    assert.match(error.message, /protocol version|unsupported protocol/i, error.message)

    const local = await localCredentials(t)
    const control = await controlServer(t, local, {
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    })
    const accepted = await handshake(control, { ...client, ca: local.ca })
    assert.equal(accepted.protocol, version, 'control: the client really offers it')
  })
}

for (const cipher of ['AES128-SHA', 'AES256-GCM-SHA384']) {
  test(`static-RSA suite ${cipher} (no forward secrecy) is refused, even with an RSA certificate`, async (t) => {
    const client = (ca: string): tls.ConnectionOptions => ({
      ca,
      maxVersion: 'TLSv1.2',
      ciphers: cipher,
    })
    // With an RSA certificate the server could use it, so only the policy stands in the way.
    const rsa = await rsaApp(t)
    const error = await refused(rsa.port, client(rsa.ca))
    assert.match(error.code ?? '', /^ERR_SSL_/, `${error.code}: ${error.message}`)
    assert.match(error.message, /handshake failure|no shared cipher/i, error.message)
    // And with the default (ECDSA) certificate.
    const ecdsa = await tlsApp(t)
    const ecdsaError = await refused(ecdsa.port, client(ecdsa.ca))
    assert.match(ecdsaError.code ?? '', /^ERR_SSL_/, `${ecdsaError.code}: ${ecdsaError.message}`)

    // Control: Node's default suites with the same RSA certificate accept it.
    const credentials = await rsaCertificate()
    const control = await controlServer(t, credentials, {})
    const accepted = await handshake(control, client(credentials.cert))
    assert.equal(accepted.cipher, cipher, 'control: the client really offers it')
  })
}

for (const { title, prefix, serve } of [
  {
    title: 'every ECDSA suite of TLS12_CIPHERS is accepted with the local (ECDSA) certificate',
    prefix: 'ECDHE-ECDSA-',
    serve: tlsApp,
  },
  {
    title: 'every ECDHE-RSA suite of TLS12_CIPHERS is accepted with an RSA certificate',
    prefix: 'ECDHE-RSA-',
    serve: rsaApp,
  },
]) {
  test(title, async (t) => {
    const served = await serve(t)
    const suites = TLS12_CIPHERS.filter((name) => name.startsWith(prefix))
    assert.equal(suites.length, 3, suites.join(':'))
    for (const cipher of suites) {
      const result = await handshake(served.port, {
        ca: served.ca,
        maxVersion: 'TLSv1.2',
        ciphers: cipher,
      })
      assert.equal(result.protocol, 'TLSv1.2', cipher)
      assert.equal(result.cipher, cipher)
      assert.equal(result.authorized, true)
    }
  })
}

test('every TLS 1.3 suite of TLS13_CIPHERS is accepted', async (t) => {
  const served = await tlsApp(t)
  for (const cipher of TLS13_CIPHERS) {
    const result = await handshake(served.port, {
      ca: served.ca,
      minVersion: 'TLSv1.3',
      ciphers: cipher,
    })
    assert.equal(result.protocol, 'TLSv1.3', cipher)
    assert.equal(result.cipher, cipher)
  }
})

test('a TLS 1.2 suite outside the policy (CBC, SHA-1 MAC) is refused', async (t) => {
  const served = await tlsApp(t)
  const local = await localCredentials(t)
  const control = await controlServer(t, local, {})
  for (const cipher of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384']) {
    const client = { maxVersion: 'TLSv1.2', ciphers: cipher } as const
    const error = await refused(served.port, { ...client, ca: served.ca })
    assert.match(error.code ?? '', /^ERR_SSL_/, `${cipher}: ${error.code}`)
    const accepted = await handshake(control, { ...client, ca: local.ca })
    assert.equal(accepted.cipher, cipher, 'control: Node’s defaults would take it')
  }
})

test('the key exchange uses the policy’s curves only', async (t) => {
  const served = await tlsApp(t)
  for (const curve of CURVES) {
    // TLS 1.3: the group alone.
    const v13 = await handshake(served.port, {
      ca: served.ca,
      minVersion: 'TLSv1.3',
      ecdhCurve: curve,
    })
    assert.equal(v13.protocol, 'TLSv1.3')
    assert.equal(v13.group, curve, `TLSv1.3 ${curve}`)
    // TLS 1.2 also needs P-256 in the list, the curve of the ECDSA certificate.
    const v12 = await handshake(served.port, {
      ca: served.ca,
      maxVersion: 'TLSv1.2',
      ecdhCurve: `${curve}:prime256v1`,
    })
    assert.equal(v12.protocol, 'TLSv1.2')
    assert.equal(v12.group, curve, `TLSv1.2 ${curve}`)
  }
  // A curve outside the policy: refused in TLS 1.3, passed over in TLS 1.2 …
  const error = await refused(served.port, {
    ca: served.ca,
    minVersion: 'TLSv1.3',
    ecdhCurve: 'secp521r1',
  })
  assert.match(error.code ?? '', /^ERR_SSL_/, `secp521r1: ${error.code}`)
  const passedOver = await handshake(served.port, {
    ca: served.ca,
    maxVersion: 'TLSv1.2',
    ecdhCurve: 'secp521r1:prime256v1',
  })
  assert.equal(passedOver.group, 'prime256v1')
  // … while a server with OpenSSL's default groups takes it (the control).
  const local = await localCredentials(t)
  const control = await controlServer(t, local, {})
  const taken = await handshake(control, {
    ca: local.ca,
    minVersion: 'TLSv1.3',
    ecdhCurve: 'secp521r1',
  })
  assert.equal(taken.group, 'secp521r1', 'control: the client really offers it')
})

test('ALPN: h2 for a client offering h2 and http/1.1; http/1.1 for one offering only that', async (t) => {
  const served = await tlsApp(t)
  const both = await handshake(served.port, { ca: served.ca, ALPNProtocols: ['h2', 'http/1.1'] })
  assert.equal(both.alpn, 'h2')
  const reversed = await handshake(served.port, {
    ca: served.ca,
    ALPNProtocols: ['http/1.1', 'h2'],
  })
  assert.equal(reversed.alpn, 'h2', 'the server prefers h2')
  const http1 = await handshake(served.port, { ca: served.ca, ALPNProtocols: ['http/1.1'] })
  assert.equal(http1.alpn, 'http/1.1')
  const none = await handshake(served.port, { ca: served.ca })
  assert.equal(none.alpn, false, 'no ALPN offered, none chosen (HTTP/1.1 then)')
})

test('HTTP/2 over TLS: GET /health/live is 200 with HSTS', async (t) => {
  const served = await tlsApp(t)
  const session = http2Connect(`https://localhost:${served.port}`, { ca: served.ca })
  t.after(() => session.close())
  const { headers, body } = await new Promise<{
    headers: Record<string, unknown>
    body: string
  }>((resolve, reject) => {
    const stream = session.request({ ':path': '/health/live' })
    let headers: Record<string, unknown> = {}
    let body = ''
    stream.on('response', (h) => {
      headers = h
    })
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk
    })
    stream.on('end', () => resolve({ headers, body }))
    stream.on('error', reject)
    stream.end()
  })
  assert.equal(headers[':status'], 200)
  assert.equal(headers['strict-transport-security'], HSTS)
  assert.equal(HSTS, 'max-age=63072000')
  assert.equal(headers.connection, undefined, 'no connection header in HTTP/2')
  assert.equal(body, '{"status":"ok"}')
  assert.equal(session.alpnProtocol, 'h2')
})

test('HTTP/1.1 over TLS: GET /health/live is 200 with HSTS', async (t) => {
  const served = await tlsApp(t)
  const res = await new Promise<{
    status: number | undefined
    version: string
    hsts: unknown
    body: string
  }>((resolve, reject) => {
    httpsRequest(
      `https://localhost:${served.port}/health/live`,
      { ca: served.ca, agent: false },
      (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            version: res.httpVersion,
            hsts: res.headers['strict-transport-security'],
            body,
          }),
        )
      },
    )
      .on('error', reject)
      .end()
  })
  assert.equal(res.status, 200)
  assert.equal(res.version, '1.1')
  assert.equal(res.hsts, 'max-age=63072000')
  assert.equal(res.body, '{"status":"ok"}')
})

test('plain HTTP to the TLS port gets no 200', async (t) => {
  const served = await tlsApp(t)
  const outcome = await new Promise<string>((resolve) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: served.port, path: '/health/live', agent: false },
      (res) => {
        res.resume()
        resolve(`status ${res.statusCode}`)
      },
    )
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')))
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve(`error ${error.code ?? error.message}`),
    )
    req.end()
  })
  assert.notEqual(outcome, 'status 200')
  assert.doesNotMatch(outcome, /^status 2/, outcome)
  assert.doesNotMatch(outcome, /timeout/, 'the server answers or hangs up, it does not stall')
})
