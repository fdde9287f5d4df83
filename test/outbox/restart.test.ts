// The outbox across a crash, with the real service process: a mail recorded before a kill -9 is
// delivered after the restart, exactly as recorded.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { openStore } from '../../src/db/store.ts'
import { render } from '../../src/mail/render.ts'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { outboxRepository } from '../../src/outbox/repository.ts'
import { dialects, migratedDatabaseUrl } from '../support/harness.ts'
import { assertNoSecret, type Received, smtpSink } from '../support/mail.ts'
import { startServer } from '../support/processes.ts'

const PUBLIC_URL = 'https://accounts.example.com'

const request: MailRequest = {
  template: 'recovery_code',
  to: 'erin@example.com',
  language: 'ru',
  login: 'erin',
  code: '27182818',
}

/** What a domain service's transaction leaves behind: the outbox row, committed. */
async function recordInto(url: string): Promise<void> {
  const store = openStore(url)
  try {
    await store.db.transaction().execute(async (trx) => {
      await outboxRepository(trx, store.dialect).add(MAIL_CHANNEL, request, new Date())
    })
  } finally {
    await store.destroy()
  }
}

/** The mail as received is the mail as rendered from the recorded request. */
function assertAsRecorded(mail: Received): void {
  const expected = render(request, PUBLIC_URL)
  assert.equal(mail.to, expected.to)
  assert.equal(mail.subject, expected.subject)
  assert.equal(mail.text, expected.text)
  assert.equal(mail.html, expected.html)
}

const messageOf = (line: string) => (JSON.parse(line) as { msg?: string }).msg

for (const dialect of dialects()) {
  describe(`the outbox across a crash, real processes (${dialect})`, () => {
    test('a mail left in the outbox by a crashed instance goes out when the service starts', async (t) => {
      const url = await migratedDatabaseUrl(t, dialect)
      await recordInto(url)
      const smtp = await smtpSink(t)
      const server = await startServer(t, {
        databaseUrl: url,
        env: { SMTP_URL: smtp.url, PUBLIC_URL },
      })
      assert.ok(server.stderr().includes(`  mail:     ${smtp.url} (no TLS: loopback)\n`))
      assertAsRecorded(await smtp.next(request.to))
      await server.waitForLine((line) => messageOf(line) === 'outbox: delivered')
      assert.equal((await smtp.all()).length, 1)
      assertNoSecret(server.stdout, [request.code], 'the log')
      assertNoSecret(server.stderr(), [request.code], 'standard error')
    })

    test('kill -9 while SMTP is down and a mail waits; restarted with SMTP up, the mail goes out exactly as recorded, once', async (t) => {
      const url = await migratedDatabaseUrl(t, dialect)
      const smtp = await smtpSink(t)
      await smtp.stop()
      const env = { SMTP_URL: smtp.url, PUBLIC_URL }
      const first = await startServer(t, { databaseUrl: url, env })
      await recordInto(url)
      // It tried (the connection was refused) and keeps the mail for a retry.
      const failed = await first.waitForLine(
        (line) => messageOf(line) === 'outbox: delivery failed; will try again',
      )
      assert.match(failed, /ECONNREFUSED/)
      first.child.kill('SIGKILL')
      assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' })

      await smtp.start()
      const second = await startServer(t, { databaseUrl: url, tlsDir: first.tlsDir, env })
      assertAsRecorded(await smtp.next(request.to))
      await second.waitForLine((line) => messageOf(line) === 'outbox: delivered')
      assert.equal((await smtp.all()).length, 1)
      for (const server of [first, second]) {
        assertNoSecret(server.stdout, [request.code], 'the log')
        assertNoSecret(server.stderr(), [request.code], 'standard error')
      }
    })
  })
}
