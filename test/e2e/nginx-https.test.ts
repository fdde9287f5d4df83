// nginx in front of usersvc, both real: the API through nginx over HTTPS and HTTP/2, the
// certificate nginx shows, HSTS, TLS to the instances (proxy_ssl_verify), the plain-HTTP redirect
// and the edge's TLS versions and ciphers.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import http2 from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { promisify } from 'node:util'
import { Agent, fetch, request } from 'undici'
import { TLS12_CIPHERS, TLS13_CIPHERS } from '../../src/tls/policy.ts'
import { call, http2Request, postJson } from '../support/http.ts'
import { logged, requestLines } from '../support/logs.ts'
import { assertEdgeProblem, edgeFixture, HSTS, inProcessService } from '../support/nginx.ts'
import { assertProblem } from '../support/problems.ts'
import { PASSWORD } from '../support/requests.ts'

/** nginx in front of one in-process instance, and an agent that trusts the local CA. */
async function oneInstance(t: TestContext) {
  const edge = await edgeFixture(t)
  const service = await inProcessService(t, edge.tlsDir)
  await edge.start([service.upstream])
  return { edge, service, agent: await edge.agent() }
}

describe('nginx in front of usersvc (real nginx, real TLS on both hops)', () => {
  test('register, log in and GET /user/me through nginx over HTTPS; each request reaches the instance', async (t) => {
    const { edge, service, agent } = await oneInstance(t)

    const created = await postJson(`${edge.base}/user/`, agent, {
      login: 'through-nginx',
      password: PASSWORD,
    })
    assert.equal(created.statusCode, 201, created.body)
    const user = JSON.parse(created.body) as { id: string; login: string }
    assert.equal(user.login, 'through-nginx')
    assert.equal(created.headers.location, `/user/${user.id}`)
    assert.equal(created.headers['strict-transport-security'], HSTS)

    const session = await postJson(`${edge.base}/session/`, agent, {
      login: 'through-nginx',
      password: PASSWORD,
    })
    assert.equal(session.statusCode, 200, session.body)
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
    assertProblem(anonymous, 401, 'invalid_token', 'GET /user/me without a token, through nginx')
    assert.equal(anonymous.headers['strict-transport-security'], HSTS)

    // Every request went through to the one instance.
    for (const url of ['/user/', '/session/', '/user/me']) await logged(service.logs, url)
  })

  test('nginx shows nginx.crt, from the local CA, for localhost, and offers h2 by ALPN; without the CA it is not trusted', async (t) => {
    const { edge } = await oneInstance(t)
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
  })

  test('HTTP/2: node:http2 negotiates h2 with nginx and gets the same API, with HSTS', async (t) => {
    const { edge, service, agent } = await oneInstance(t)
    const credentials = { login: 'over-h2', password: PASSWORD }
    assert.equal((await postJson(`${edge.base}/user/`, agent, credentials)).statusCode, 201)
    const session = await postJson(`${edge.base}/session/`, agent, credentials)
    assert.equal(session.statusCode, 200, session.body)
    const { access_token } = JSON.parse(session.body) as { access_token: string }

    const h2 = http2.connect(edge.base, { ca: await edge.caPem() })
    t.after(() => h2.destroy())
    await once(h2, 'connect')
    assert.equal(h2.alpnProtocol, 'h2')
    const live = await http2Request(h2, { ':path': '/health/live?via=h2' })
    assert.equal(live.statusCode, 200, live.body)
    assert.deepEqual(JSON.parse(live.body), { status: 'ok' })
    assert.equal(live.headers['strict-transport-security'], HSTS)
    const meH2 = await http2Request(h2, {
      ':path': '/user/me',
      authorization: `Bearer ${access_token}`,
    })
    assert.equal(meH2.statusCode, 200, meH2.body)
    assert.equal(meH2.headers['strict-transport-security'], HSTS)
    h2.close()
    await logged(service.logs, '/health/live?via=h2')
  })

  test('one HSTS header: the instance sends its own, nginx hides that copy and keeps its own', async (t) => {
    const { edge, service, agent } = await oneInstance(t)
    // undici's request keeps a repeated header as an array: one string is one header.
    const through = await call(`${edge.base}/health/live`, agent)
    assert.equal(through.statusCode, 200, through.body)
    assert.equal(through.headers['strict-transport-security'], HSTS)
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
    assertEdgeProblem(reply, 503, 'unavailable')
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

  test('the plain listener only redirects: 308 to https on the HTTPS port, same path and query', async (t) => {
    const { edge, service } = await oneInstance(t)
    const plain = new Agent()
    t.after(() => plain.close())

    const path = '/user/me?probe=redirect&x=%20y'
    const get = await call(`http://127.0.0.1:${edge.httpPort}${path}`, plain)
    assert.equal(get.statusCode, 308)
    assert.equal(get.headers.location, `https://127.0.0.1:${edge.httpsPort}${path}`)
    // HSTS is for HTTPS responses only (RFC 6797 §7.2).
    assert.equal(get.headers['strict-transport-security'], undefined)

    const post = await call(`http://127.0.0.1:${edge.httpPort}/user/?probe=redirect-post`, plain, {
      method: 'POST',
      headers: { host: `localhost:${edge.httpPort}`, 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'plain-text', password: PASSWORD }),
    })
    assert.equal(post.statusCode, 308)
    assert.equal(
      post.headers.location,
      `https://localhost:${edge.httpsPort}/user/?probe=redirect-post`,
    )

    // Following it lands on the service over HTTPS.
    const followed = await call(String(get.headers.location), await edge.agent())
    assert.equal(followed.statusCode, 401, followed.body)
    await logged(service.logs, path)
    assert.deepEqual(
      requestLines(service.logs).map((l) => l.url),
      [path],
      'nothing sent in clear text reached the service',
    )
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
})
