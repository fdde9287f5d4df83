// No code, password or token in any log line, nor in any response but the one that creates it
// (codes are created by mail: in no response at all); codes stored only as hashes.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { outboxDrained, SUBJECT } from '../support/email.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, type Harness, makeApp } from '../support/harness.ts'
import { requestLines } from '../support/logs.ts'
import { codeIn, mailDir } from '../support/mail.ts'
import { bearer, NEW_PASSWORD, PASSWORD } from '../support/requests.ts'

const WRONG = 'a wrong guess at the passphrase'

interface Exchange {
  what: string
  res: LightMyRequestResponse
}

interface Flow {
  exchanges: Exchange[]
  codes: string[]
  passwords: string[]
  /** Each token, and the exchange whose response created it. */
  tokens: Array<{ token: string; createdBy: Exchange }>
}

/** A code is a whole run of digits: not part of a longer number (a timestamp, a duration). */
const wholeDigits = (code: string) => new RegExp(`(?<!\\d)${code}(?!\\d)`)

/** Every step that makes or takes a code, a password or a token. */
async function flow({ app, config, logs }: Harness): Promise<Flow> {
  const box = mailDir(config.mail.dir)
  const exchanges: Exchange[] = []
  const codes: string[] = []
  const tokens: Flow['tokens'] = []
  const send = async (what: string, options: InjectOptions, status: number) => {
    const res = await app.inject(options)
    assert.equal(res.statusCode, status, `${what}: ${res.body}`)
    const exchange = { what, res }
    exchanges.push(exchange)
    return exchange
  }
  const signIn = async (password: string) => {
    const exchange = await send(
      'login',
      { method: 'POST', url: '/session/', payload: { login: 'alice', password } },
      200,
    )
    const body = exchange.res.json()
    tokens.push({ token: body.access_token, createdBy: exchange })
    tokens.push({ token: body.refresh_token, createdBy: exchange })
    return body.access_token as string
  }
  const mailed = async (to: string, subject: RegExp) => {
    const code = codeIn(await box.next(to, subject))
    codes.push(code)
    return code
  }
  const wrongCode = (code: string) =>
    code.startsWith('0') ? `1${code.slice(1)}` : `0${code.slice(1)}`

  await send(
    'register',
    {
      method: 'POST',
      url: '/user/',
      payload: { login: 'alice', password: PASSWORD, email: 'alice@example.com' },
    },
    201,
  )
  await mailed('alice@example.com', SUBJECT.verification)
  const access = await signIn(PASSWORD)
  const auth = { headers: bearer(access) }
  await send(
    'resend',
    { method: 'POST', url: '/user/me/email/verification', payload: {}, ...auth },
    202,
  )
  const verifying = await mailed('alice@example.com', SUBJECT.verification)
  const verify = (code: string, status: number) =>
    send(
      'verify',
      { method: 'POST', url: '/user/me/email/verify', payload: { code }, ...auth },
      status,
    )
  await verify(wrongCode(verifying), 400)
  await verify(verifying, 200)
  await send(
    'change address, wrong password',
    {
      method: 'PUT',
      url: '/user/me/email',
      payload: { email: 'new@example.com', password: WRONG },
      ...auth,
    },
    401,
  )
  await send(
    'change address',
    {
      method: 'PUT',
      url: '/user/me/email',
      payload: { email: 'new@example.com', password: PASSWORD },
      ...auth,
    },
    200,
  )
  await verify(await mailed('new@example.com', SUBJECT.verification), 200)
  await send('recovery', { method: 'POST', url: '/recovery/', payload: { login: 'alice' } }, 202)
  const recovery = await mailed('new@example.com', SUBJECT.recovery)
  const complete = (code: string, status: number) =>
    send(
      'complete',
      {
        method: 'POST',
        url: '/recovery/complete',
        payload: { login: 'alice', code, new_password: NEW_PASSWORD },
      },
      status,
    )
  await complete(wrongCode(recovery), 400)
  await complete(recovery, 204)
  await complete(recovery, 400)
  await signIn(NEW_PASSWORD)
  await outboxDrained(app)
  // Every exchange's own log line is written, the last completion's too.
  await eventually(() => requestLines(logs).length, {
    what: 'a request line per exchange',
    until: (n) => n >= exchanges.length,
  })

  assert.equal(new Set(codes).size, codes.length, 'distinct codes (rerun on a coincidence)')
  return { exchanges, codes, passwords: [PASSWORD, NEW_PASSWORD, WRONG], tokens }
}

/** A token and the part of it that alone would be a leak (a JWT's signature, a refresh secret). */
const partsOf = (token: string) => [token, token.split('.').at(-1) as string]

for (const dialect of dialects()) {
  describe(`secrets of email verification and recovery (${dialect})`, () => {
    for (const level of ['info', 'trace']) {
      test(`no code, password or token in any log line (LOG_LEVEL=${level})`, async (t) => {
        const h = await makeApp(t, { dialect, env: { LOG_LEVEL: level } })
        const { codes, passwords, tokens, exchanges } = await flow(h)
        assert.ok(h.logs.length >= exchanges.length)
        for (const line of h.logs) {
          for (const code of codes) assert.doesNotMatch(line, wholeDigits(code), 'a code')
          for (const secret of [...passwords, ...tokens.flatMap((t) => partsOf(t.token))]) {
            assert.ok(!line.includes(secret), `${secret} logged: ${line}`)
          }
        }
      })
    }

    test('no code or password in any response; a token only in the one that created it', async (t) => {
      const h = await makeApp(t, { dialect })
      const { codes, passwords, tokens, exchanges } = await flow(h)
      for (const { what, res } of exchanges) {
        const seen = `${JSON.stringify(res.headers)}\n${res.body}`
        for (const code of codes) assert.doesNotMatch(seen, wholeDigits(code), `${what}: a code`)
        for (const password of passwords) assert.ok(!seen.includes(password), what)
        for (const { token, createdBy } of tokens) {
          if (createdBy.res === res) continue
          for (const part of partsOf(token)) assert.ok(!seen.includes(part), `${what}: a token`)
        }
      }
    })

    test('codes are stored only as keyed hashes, and leave the outbox with their mail', async (t) => {
      const h = await makeApp(t, { dialect })
      const { codes } = await flow(h)
      const { db } = h.app.store
      const stored = JSON.stringify([
        await db.selectFrom('one_time_codes').selectAll().execute(),
        await db.selectFrom('users').selectAll().execute(),
        await db.selectFrom('outbox').selectAll().execute(),
      ])
      for (const code of codes) assert.doesNotMatch(stored, wholeDigits(code))
      const rows = await db.selectFrom('one_time_codes').select('code_hash').execute()
      assert.equal(rows.length, codes.length)
      for (const row of rows) assert.match(row.code_hash, /^[A-Za-z0-9_-]{43}$/)
    })
  })
}
