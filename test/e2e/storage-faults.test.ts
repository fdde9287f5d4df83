// The real service (a process, plain HTTP) whose SQLite file is deleted under it, as by a wrong
// `rm` or a clean-up job: it must stop acknowledging what a restart would lose.
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { test } from 'node:test'
import { sqlitePath } from '../../src/db/sqlite.ts'
import { type Server, startServer } from '../support/processes.ts'
import { NOT_READY, PASSWORD } from '../support/requests.ts'

interface Answer {
  status: number
  headers: Record<string, string>
  body: string
}

async function call(server: Server, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  })
  const headers = Object.fromEntries(res.headers)
  return { status: res.status, headers, body: await res.text() } satisfies Answer
}

/** Status, headers and body, less what differs per request anyway. */
function seen(answer: Answer) {
  const { 'x-request-id': _id, date: _date, ...headers } = answer.headers
  return { ...answer, headers }
}

test('SQLite file deleted under a running process: nothing acknowledged is lost at restart', async (t) => {
  const server = await startServer(t, { env: { TLS: 'off' } })
  const registerAs = (login: string) =>
    call(server, 'POST', '/user/', { login, password: PASSWORD })
  const loginAs = (login: string, password: string) =>
    call(server, 'POST', '/session/', { login, password })

  assert.equal((await registerAs('before')).status, 201)
  const path = sqlitePath(server.databaseUrl)
  for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true })

  // Every 201 from here on would be a promise the next restart breaks.
  const acknowledged: string[] = []
  for (const login of ['after1', 'after2', 'after3']) {
    const res = await registerAs(login)
    if (res.status === 201) acknowledged.push(login)
    assert.equal(res.status, 503, `${login}: ${res.body}`)
    assert.equal(JSON.parse(res.body).code, 'unavailable')
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
  const ready = await call(server, 'GET', '/health/ready')
  assert.equal(ready.status, 503, ready.body)
  assert.deepEqual(JSON.parse(ready.body), NOT_READY)
  const right = await loginAs('before', PASSWORD)
  const wrong = await loginAs('before', 'not the password at all, but long enough')
  assert.equal(right.status, 503, right.body)
  assert.deepEqual(seen(right), seen(wrong), 'right and wrong password answered alike')
  const line = await server.waitForLine((l) => /"reason":"unlinked"/.test(l))
  assert.match(JSON.parse(line).msg, /until restart/)

  server.child.kill('SIGTERM')
  assert.deepEqual(await server.exited, { code: 0, signal: null })
  const again = await startServer(t, { databaseUrl: server.databaseUrl, env: { TLS: 'off' } })
  for (const login of acknowledged) {
    const res = await call(again, 'POST', '/session/', { login, password: PASSWORD })
    assert.equal(res.status, 200, `${login} was acknowledged before the restart: ${res.body}`)
  }
  // A new file, a working service: the restart is what brings it back.
  assert.equal(
    (await call(again, 'POST', '/user/', { login: 'fresh', password: PASSWORD })).status,
    201,
  )
})
