// The real service, killed with SIGKILL right after it answered POST /recovery/ and before any
// mail could go out (the mail server is down): after a restart the code is mailed, and works.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { openStore } from '../../src/db/store.ts'
import { SUBJECT } from '../support/email.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, freshDatabaseUrl } from '../support/harness.ts'
import { postJson } from '../support/http.ts'
import { codeIn, type Received, smtpSink } from '../support/mail.ts'
import { type Server, startServer } from '../support/processes.ts'
import { bearer, NEW_PASSWORD, PASSWORD } from '../support/requests.ts'

// A message the killed process had claimed is free again when its lease ends (120 s, see
// src/outbox/worker.ts), and is tried 5 s after a failed try: room for both.
const LEASE_PATIENCE_MS = 150_000

async function call(server: Server, path: string, body: unknown, token?: string) {
  const res = await postJson(
    `${server.base}${path}`,
    await server.dispatcher(),
    body,
    token ? bearer(token) : {},
  )
  return { status: res.statusCode, text: res.body, json: () => JSON.parse(res.body) }
}

/** Messages in the outbox, whatever their channel (the request, or the mail it became). */
async function waiting(databaseUrl: string): Promise<number> {
  const store = openStore(databaseUrl)
  try {
    const rows = await store.db.selectFrom('outbox').select('id').execute()
    return rows.length
  } finally {
    await store.destroy()
  }
}

for (const dialect of dialects()) {
  describe(`recovery across kill -9 (${dialect})`, () => {
    test('killed between the 202 and the send: the mail is delivered after the restart', async (t) => {
      const smtp = await smtpSink(t)
      const databaseUrl = await freshDatabaseUrl(t, dialect)
      const env = { SMTP_URL: smtp.url }
      const first = await startServer(t, { databaseUrl, env })

      const created = await call(first, '/user/', {
        login: 'alice',
        password: PASSWORD,
        email: 'alice@example.com',
      })
      assert.equal(created.status, 201, created.text)
      const session = await call(first, '/session/', { login: 'alice', password: PASSWORD })
      const token = session.json().access_token
      const code = codeIn(await smtp.next('alice@example.com', SUBJECT.verification))
      const verified = await call(first, '/user/me/email/verify', { code }, token)
      assert.equal(verified.status, 200, verified.text)

      await smtp.stop()
      const asked = await call(first, '/recovery/', { login: 'alice' })
      assert.equal(asked.status, 202, asked.text)
      first.child.kill('SIGKILL')
      assert.equal((await first.exited).signal, 'SIGKILL')
      // What the 202 acknowledged is in the database, not yet delivered.
      assert.ok((await waiting(databaseUrl)) >= 1, 'the recovery is in the outbox')

      await smtp.start()
      const second = await startServer(t, { databaseUrl, env })
      const mail: Received = await eventually(
        async () => (await smtp.all()).find((m) => SUBJECT.recovery.test(m.subject)),
        { what: 'the recovery mail after the restart', timeoutMs: LEASE_PATIENCE_MS },
      )
      const done = await call(second, '/recovery/complete', {
        login: 'alice',
        code: codeIn(mail),
        new_password: NEW_PASSWORD,
      })
      assert.equal(done.status, 204, done.text)
      const again = await call(second, '/session/', {
        login: 'alice',
        password: NEW_PASSWORD,
      })
      assert.equal(again.status, 200, again.text)
    })
  })
}
