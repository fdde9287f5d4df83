// nginx in front of usersvc: what the instances learn of the client (X-Forwarded-For, logged
// addresses), and two instances behind one nginx sharing a database.
import assert from 'node:assert/strict'
import http2 from 'node:http2'
import { connect as netConnect } from 'node:net'
import { describe, test } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { call, http2Request, postJson } from '../support/http.ts'
import { type LogLine, logged, requestLines } from '../support/logs.ts'
import { edgeFixture, inProcessService } from '../support/nginx.ts'
import { type Server, startServer } from '../support/processes.ts'
import { PASSWORD } from '../support/requests.ts'

describe('nginx in front of usersvc: forwarded addresses and several instances', () => {
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
    assert.equal(viaNginx.statusCode, 200, viaNginx.body)
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
    assert.equal(viaH2.statusCode, 200, viaH2.body)
    assert.equal((await logged(trusting.logs, '/health/live?probe=xff-h2')).ip, '127.0.0.2')
    h2.close()

    // Straight to the service from 127.0.0.3: not a trusted proxy, so its header is ignored.
    const from3 = await edge.agent({ localAddress: '127.0.0.3' })
    const direct = await call(`${trusting.base}/health/live?probe=xff-direct`, from3, {
      headers: spoof,
    })
    assert.equal(direct.statusCode, 200, direct.body)
    assert.equal((await logged(trusting.logs, '/health/live?probe=xff-direct')).ip, '127.0.0.3')

    // TRUST_PROXY unset: even nginx's X-Forwarded-For is ignored; the address is nginx's own.
    const from2b = await ignoring.agent({ localAddress: '127.0.0.2' })
    const unset = await call(`${ignoring.base}/health/live?probe=xff-untrusted`, from2b, {
      headers: spoof,
    })
    assert.equal(unset.statusCode, 200, unset.body)
    assert.equal(
      (await logged(untrusting.logs, '/health/live?probe=xff-untrusted')).ip,
      '127.0.0.1',
    )

    for (const line of [...trusting.logs, ...untrusting.logs])
      assert.ok(!line.includes('6.6.6.6'), line)
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
    assert.equal(created.statusCode, 201, created.body)
    for (let i = 0; i < 10; i++) {
      const session = await postJson(`${edge.base}/session/`, single, {
        login: 'shared-user',
        password: PASSWORD,
      })
      assert.equal(session.statusCode, 200, session.body)
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
      assert.equal(session.statusCode, 200, session.body)
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
      assert.equal(me.statusCode, 200, me.body)
      assert.equal((JSON.parse(me.body) as { login: string }).login, 'shared-user')
    }

    // Fifty clients register the same login at once, on fifty connections, through nginx.
    const many = await edge.agent()
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        postJson(`${edge.base}/user/`, many, { login: 'race-winner', password: PASSWORD }),
      ),
    )
    const statuses = results.map((r) => r.statusCode)
    assert.equal(statuses.filter((s) => s === 201).length, 1, JSON.stringify(statuses))
    for (const r of results.filter((r) => r.statusCode !== 201)) {
      assert.equal(r.statusCode, 409, r.body)
      assert.equal((JSON.parse(r.body) as { code: string }).code, 'login_taken')
    }
  })
})
