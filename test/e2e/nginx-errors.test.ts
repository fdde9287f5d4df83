// nginx in front of usersvc: the answers nginx makes itself, as problem documents: bodies over
// the limit (413) and an instance that is down (503).
import assert from 'node:assert/strict'
import http2 from 'node:http2'
import { Readable } from 'node:stream'
import { describe, test } from 'node:test'
import { patiently } from '../support/eventually.ts'
import { call, http2Request, postJson } from '../support/http.ts'
import { logged, requestLines } from '../support/logs.ts'
import { assertEdgeProblem, edgeFixture, inProcessService } from '../support/nginx.ts'
import { startServer } from '../support/processes.ts'
import { PASSWORD } from '../support/requests.ts'

describe('nginx in front of usersvc: its own error answers', () => {
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
    assertEdgeProblem(tooLarge, 413, 'payload_too_large')

    // Without a Content-Length (chunked), nginx counts as it reads.
    async function* chunks() {
      for (let i = 0; i < big.length; i += 1024) yield Buffer.from(big.slice(i, i + 1024))
    }
    const chunked = await call(`${edge.base}/user/?probe=20k-chunked`, agent, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Readable.from(chunks()),
    })
    assertEdgeProblem(chunked, 413, 'payload_too_large')

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
    assertEdgeProblem(h2Reply, 413, 'payload_too_large')
    h2.close()

    // 15 KiB passes nginx: the service answers it (here: the login is far too long).
    const fits = await postJson(`${edge.base}/user/?probe=15k`, agent, JSON.parse(body(15 * 1024)))
    assert.notEqual(fits.statusCode, 413, fits.body)
    assert.ok(fits.statusCode >= 200 && fits.statusCode < 500, `${fits.statusCode} ${fits.body}`)
    const fitsLine = await logged(service.logs, '/user/?probe=15k')
    assert.equal(fitsLine.status, fits.statusCode)
    assert.notEqual((JSON.parse(fits.body) as { code?: string }).code, 'payload_too_large')

    // The 15 KiB request was logged after the refused ones were sent: none of those reached it.
    assert.deepEqual(
      requestLines(service.logs).map((l) => l.url),
      ['/user/?probe=15k'],
    )
  })

  test('POST /user/import takes bodies up to 2 MiB through nginx (1,000 records); more is 413', async (t) => {
    const edge = await edgeFixture(t)
    const service = await inProcessService(t, edge.tlsDir)
    await edge.start([service.upstream])
    const agent = await edge.agent()
    const users = (size: number) => {
      const record = { login: 'someone', password_hash: 'x'.repeat(size / 1000 - 40) }
      return { users: Array.from({ length: 1000 }, () => record) }
    }
    // No token: the service answers 401, which shows the body got past nginx's limit.
    const fits = await postJson(`${edge.base}/user/import?probe=1m`, agent, users(1024 * 1024))
    assert.equal(fits.statusCode, 401, fits.body)
    assert.equal((JSON.parse(fits.body) as { code?: string }).code, 'invalid_token')
    const tooLarge = await postJson(
      `${edge.base}/user/import?probe=3m`,
      agent,
      users(3 * 1024 * 1024),
    )
    assertEdgeProblem(tooLarge, 413, 'payload_too_large')
    // Elsewhere the limit stays 16 KiB.
    const elsewhere = await postJson(`${edge.base}/user/?probe=1m`, agent, users(1024 * 1024))
    assertEdgeProblem(elsewhere, 413, 'payload_too_large')
  })

  test('upstream down: nginx answers 503 with an "unavailable" problem document, not an HTML 502', async (t) => {
    const edge = await edgeFixture(t)
    const server = await startServer(t, { tlsDir: edge.tlsDir, env: { TRUST_PROXY: '127.0.0.1' } })
    await edge.start([`127.0.0.1:${server.port}`])
    const agent = await edge.agent()

    const up = await call(`${edge.base}/health/ready`, agent)
    assert.equal(up.statusCode, 200, up.body)

    assert.ok(server.child.kill('SIGTERM'))
    assert.deepEqual(await patiently(server.exited, 'usersvc exit'), { code: 0, signal: null })

    const down = await call(`${edge.base}/health/ready`, agent)
    assertEdgeProblem(down, 503, 'unavailable')
    assert.equal(down.headers['retry-after'], '1')
    assert.doesNotMatch(down.body, /<html/i)

    const post = await postJson(`${edge.base}/user/`, agent, {
      login: 'nobody-home',
      password: PASSWORD,
    })
    assertEdgeProblem(post, 503, 'unavailable')
  })
})
