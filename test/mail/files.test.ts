// Without SMTP_URL (what `npm start` does): each mail is an .eml file, and one line on standard
// error says where, for the newcomer at the terminal. The real process, its real stderr.
import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { openStore } from '../../src/db/store.ts'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { outboxRepository } from '../../src/outbox/repository.ts'
import { eventually } from '../support/eventually.ts'
import { tempDir } from '../support/harness.ts'
import { assertNoSecret, codeIn, mailDir } from '../support/mail.ts'
import { startServer } from '../support/processes.ts'

const request: MailRequest = {
  template: 'email_verification',
  to: 'frank.jones@example.com',
  language: 'en',
  login: 'frank',
  code: '16180339',
}

test('without SMTP_URL: an .eml file (0600, in a 0700 folder) and one stderr line naming it, the address masked, no code', async (t) => {
  const dir = await tempDir(t)
  const url = `sqlite:${join(dir, 'usersvc.db')}`
  const store = openStore(url)
  await migrateToLatest(store)
  await outboxRepository(store.db, store.dialect).add(MAIL_CHANNEL, request, new Date())
  await store.destroy()

  const mailFolder = join(dir, 'mail')
  const server = await startServer(t, { databaseUrl: url, env: { MAIL_DIR: mailFolder } })
  const line = await eventually(
    () =>
      server
        .stderr()
        .split('\n')
        .find((l) => l.startsWith('mail to ')),
    { what: 'the stderr line of the mail' },
  )
  // The banner said where mail would go.
  assert.match(
    server.stderr(),
    /^ {2}mail: {5}\/\S+\/mail\/ \(a file per mail; set SMTP_URL to send\)$/m,
  )
  const file = /^mail to f\*\*\*@example\.com: (\/\S+\.eml)$/.exec(line)?.[1]
  assert.ok(file, line)
  assert.equal(dirname(file), mailFolder)
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  assert.equal((await stat(mailFolder)).mode & 0o777, 0o700)

  const mail = await mailDir(mailFolder).next(request.to)
  assert.equal(mail.subject, 'Confirm your email address')
  assert.equal(codeIn(mail), request.code)
  assert.match(mail.raw, /^Auto-Submitted: auto-generated\r?$/m)

  await server.waitForLine((l) => JSON.parse(l).msg === 'outbox: delivered')
  const mailLines = server
    .stderr()
    .split('\n')
    .filter((l) => l.includes('@'))
  assert.deepEqual(mailLines, [line], 'one line per mail, and no address elsewhere')
  assertNoSecret(server.stderr(), [request.code, 'frank.jones'], 'standard error')
  assertNoSecret(server.stdout, [request.code, 'frank.jones'], 'the log')
})
