// The real service, killed with SIGKILL right after it answered POST /recovery/ and before any
// mail could go out (the mail server is down): after a restart the code is mailed, and works.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { request } from 'undici'
import { SUBJECT } from '../support/email.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, freshDatabaseUrl } from '../support/harness.ts'
import { codeIn, type Received, smtpSink } from '../support/mail.ts'
import { type Server, startServer } from '../support/processes.ts'
import { NEW_PASSWORD, PASSWORD } from '../support/requests.ts'

// A message the killed process had claimed is free again when its lease ends (60 s).
const LEASE_PATIENCE_MS = 90_000

async function call(server: Server, method: string, path: string, body: unknown, token?: string) {
  const res = await request(`${server.base}${path}`, {
    method: method as 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  })
  const text = await res.body.text()
  return { status: res.statusCode, text, json: () => JSON.parse(text) }
}

for (const dialect of dialects()) {
  describe(`recovery across kill -9 (${dialect})`, () => {
    test('killed between the 202 and the send: the mail is delivered after the restart', async (t) => {
      const smtp = await smtpSink(t)
      const databaseUrl = await freshDatabaseUrl(t, dialect)
      const env = { TLS: 'off', SMTP_URL: smtp.url }
      const first = await startServer(t, { databaseUrl, env })

      const created = await call(first, 'POST', '/user/', {
        login: 'alice',
        password: PASSWORD,
        email: 'alice@example.com',
      })
      assert.equal(created.status, 201, created.text)
      const session = await call(first, 'POST', '/session/', { login: 'alice', password: PASSWORD })
      const token = session.json().access_token
      const code = codeIn(await smtp.next('alice@example.com', SUBJECT.verification))
      const verified = await call(first, 'POST', '/user/me/email/verify', { code }, token)
      assert.equal(verified.status, 200, verified.text)

      await smtp.stop()
      const asked = await call(first, 'POST', '/recovery/', { login: 'alice' })
      assert.equal(asked.status, 202, asked.text)
      first.child.kill('SIGKILL')
      assert.equal((await first.exited).signal, 'SIGKILL')
      assert.deepEqual(
        (await smtp.all()).filter((m) => SUBJECT.recovery.test(m.subject)),
        [],
        'nothing was sent before the kill',
      )

      await smtp.start()
      const second = await startServer(t, { databaseUrl, env })
      const mail: Received = await eventually(
        async () => (await smtp.all()).find((m) => SUBJECT.recovery.test(m.subject)),
        { what: 'the recovery mail after the restart', timeoutMs: LEASE_PATIENCE_MS },
      )
      const done = await call(second, 'POST', '/recovery/complete', {
        login: 'alice',
        code: codeIn(mail),
        new_password: NEW_PASSWORD,
      })
      assert.equal(done.status, 204, done.text)
      const again = await call(second, 'POST', '/session/', {
        login: 'alice',
        password: NEW_PASSWORD,
      })
      assert.equal(again.status, 200, again.text)
    })
  })
}
