import assert from 'node:assert/strict'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { ConfigError, loadConfig } from '../../src/config/index.ts'
import type { MailConfig } from '../../src/config/mail.ts'
import { mailDestination } from '../../src/mail/destination.ts'
import { isLoopback } from '../../src/mail/smtp.ts'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { ensureLeaf, ensureLocalCa } from '../../src/tls/local-ca.ts'
import { type DialectName, dialects, makeApp, TestClock, tempDir } from '../support/harness.ts'
import { assertNoSecret, codeIn, recordMail, type SinkOptions, smtpSink } from '../support/mail.ts'
import { sample } from '../support/metrics.ts'

/** An address of this machine that is not loopback (eth0's): plain SMTP to it would leave the host. */
function outwardAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  throw new Error('no IPv4 address other than loopback on this machine (ip -4 addr)')
}

const HOST = outwardAddress()
const PASSWORD = 'relay-pw-7f3a9c'

/** The project's local CA, and a certificate it signed for HOST (as a private relay would have). */
async function relayCertificate(t: TestContext) {
  const dir = join(await tempDir(t), 'tls')
  const ca = await ensureLocalCa(dir)
  const leaf = await ensureLeaf(ca, 'smtp', [HOST])
  return { caFile: ca.caPath, tls: { key: leaf.key, cert: leaf.cert } }
}

const request: MailRequest = {
  template: 'recovery_code',
  to: 'carol@example.com',
  language: 'en',
  login: 'carol',
  code: '31415926',
}

/** A relay on HOST, and the app pointed at it (as mailer:PASSWORD); one try made. */
async function tryOnce(
  t: TestContext,
  dialect: DialectName,
  sink: SinkOptions,
  env: Record<string, string>,
) {
  const smtp = await smtpSink(t, { host: HOST, ...sink })
  const clock = new TestClock()
  clock.freeze()
  const url = smtp.url.replace('://', `://mailer:${PASSWORD}@`)
  const h = await makeApp(t, { dialect, clock, env: { SMTP_URL: url, ...env } })
  await recordMail(h.app, request)
  await h.app.outbox.flush(MAIL_CHANNEL)
  return { smtp, ...h }
}

for (const dialect of dialects()) {
  describe(`TLS to the mail server at ${HOST} (${dialect})`, () => {
    test('off loopback, a server that offers no STARTTLS gets nothing, not even the envelope or the password; the mail waits for a retry', async (t) => {
      const { smtp, app, logs } = await tryOnce(t, dialect, {}, {})
      assert.equal(smtp.connections(), 1)
      assert.equal(smtp.refusals(), 0)
      assert.equal(smtp.envelopes(), 0)
      assert.deepEqual(smtp.logins(), [])
      assert.deepEqual(await smtp.all(), [])
      assert.equal(await app.outbox.waiting(MAIL_CHANNEL), 1)
      assert.equal(
        await sample(app.metrics.registry, 'usersvc_mail_failed_total{outcome="retry"}'),
        1,
      )
      const warning = logs
        .map((line) => JSON.parse(line))
        .find((l) => l.msg === 'outbox: delivery failed; will try again')
      assert.match(warning?.cause, /STARTTLS/)
      assertNoSecret(logs, [request.code, PASSWORD], 'the log')
    })

    test('SMTP_TLS=off: the same server gets the mail in clear', async (t) => {
      const { smtp, logs } = await tryOnce(t, dialect, {}, { SMTP_TLS: 'off' })
      const mail = await smtp.next(request.to)
      assert.equal(mail.secure, false)
      assert.equal(codeIn(mail), request.code)
      assertNoSecret(logs, [request.code, PASSWORD], 'the log')
    })

    test('STARTTLS with a certificate from the CA in SMTP_CA_FILE: the mail and the password go encrypted', async (t) => {
      const relay = await relayCertificate(t)
      const { smtp, logs } = await tryOnce(
        t,
        dialect,
        { tls: relay.tls },
        { SMTP_CA_FILE: relay.caFile },
      )
      const mail = await smtp.next(request.to)
      assert.equal(mail.secure, true)
      assert.equal(codeIn(mail), request.code)
      assert.deepEqual(smtp.logins(), [{ user: 'mailer', secure: true }])
      assertNoSecret(logs, [request.code, PASSWORD], 'the log')
    })

    test('smtps:// (TLS from the first byte) with SMTP_CA_FILE: delivered encrypted', async (t) => {
      const relay = await relayCertificate(t)
      const { smtp } = await tryOnce(
        t,
        dialect,
        { tls: relay.tls, secure: true },
        { SMTP_CA_FILE: relay.caFile },
      )
      assert.match(smtp.url, /^smtps:/)
      const mail = await smtp.next(request.to)
      assert.equal(mail.secure, true)
    })

    test('STARTTLS with a certificate the service does not trust: nothing sent, the mail waits', async (t) => {
      const relay = await relayCertificate(t)
      const { smtp, app, logs } = await tryOnce(t, dialect, { tls: relay.tls }, {})
      assert.equal(smtp.connections(), 1)
      assert.equal(smtp.envelopes(), 0)
      assert.deepEqual(smtp.logins(), [])
      assert.equal(await app.outbox.waiting(MAIL_CHANNEL), 1)
      const warning = logs
        .map((line) => JSON.parse(line))
        .find((l) => l.msg === 'outbox: delivery failed; will try again')
      assert.match(warning?.cause, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/)
      assertNoSecret(logs, [request.code, PASSWORD], 'the log')
    })
  })
}

describe('mail settings', () => {
  test('a bad SMTP_URL or a lone SMTP_CA_FILE stops start-up, naming the variable, never echoing the URL', () => {
    const problem = (env: Record<string, string>) => {
      try {
        loadConfig(env)
      } catch (error) {
        assert.ok(error instanceof ConfigError)
        return error.message
      }
      assert.fail('no ConfigError')
    }
    const bad = problem({ SMTP_URL: `smtp://mailer:${PASSWORD}@` })
    assert.match(bad, /SMTP_URL: is not a URL with a host/)
    assert.ok(!bad.includes(PASSWORD), bad)
    assert.match(problem({ SMTP_URL: 'http://mail.example.com' }), /SMTP_URL: /)
    assert.match(
      problem({ SMTP_CA_FILE: '/etc/ca.pem' }),
      /SMTP_CA_FILE: is only used with SMTP_URL/,
    )
    assert.match(problem({ SMTP_TLS: 'maybe' }), /SMTP_TLS: must be one of on, off/)
  })

  test('an SMTP_CA_FILE that cannot be read stops start-up, naming it', async (t) => {
    await assert.rejects(
      makeApp(t, {
        env: { SMTP_URL: `smtp://${HOST}:2525`, SMTP_CA_FILE: '/nonexistent/ca.pem' },
      }),
      /SMTP_CA_FILE \(\/nonexistent\/ca\.pem\) cannot be read: ENOENT/,
    )
  })

  test('the start-up banner says where mail goes, and how, without the SMTP password', () => {
    const base = { requireTls: true, from: 'x@y', dir: './data/mail', publicUrl: 'https://h' }
    const cases: Array<[Partial<MailConfig>, string]> = [
      [{}, './data/mail/ (a file per mail; set SMTP_URL to send)'],
      [
        { smtpUrl: `smtp://u:${PASSWORD}@mail.example.com:587` },
        'smtp://mail.example.com:587 (STARTTLS required)',
      ],
      [{ smtpUrl: `smtps://u:${PASSWORD}@mail.example.com` }, 'smtps://mail.example.com (TLS)'],
      [{ smtpUrl: 'smtp://127.0.0.1:25' }, 'smtp://127.0.0.1:25 (no TLS: loopback)'],
      [
        { smtpUrl: 'smtp://10.0.0.5:25', requireTls: false },
        'smtp://10.0.0.5:25 (no TLS: SMTP_TLS=off)',
      ],
    ]
    for (const [config, expected] of cases) {
      assert.equal(mailDestination({ ...base, ...config }), expected)
    }
  })

  test('loopback is this host by address: 127.0.0.0/8, ::1 and localhost; nothing else', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', 'LOCALHOST', '[::1]', '[0:0::1]']) {
      assert.equal(isLoopback(host), true, host)
    }
    for (const host of [HOST, '10.0.0.1', 'mail.example.com', 'localhost.example.com', '[::2]']) {
      assert.equal(isLoopback(host), false, host)
    }
  })
})
