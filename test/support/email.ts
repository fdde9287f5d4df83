// Requests about email addresses and recovery, and an account whose address is verified.
import assert from 'node:assert/strict'
import type { App } from '../../src/app.ts'
import { eventually } from './eventually.ts'
import { codeIn, type Mailbox } from './mail.ts'
import { bearer, PASSWORD, type Session, session } from './requests.ts'

/** The subjects of the English mails, to pick one out of a mailbox. */
export const SUBJECT = {
  verification: /^Confirm your email address$/,
  changed: /^Your email address was changed$/,
  recovery: /^Reset your password$/,
  passwordChanged: /^Your password was changed$/,
}

export function registerWithEmail(app: App, login: string, email: unknown, password = PASSWORD) {
  return app.inject({ method: 'POST', url: '/user/', payload: { login, password, email } })
}

export function verifyEmail(app: App, token: string, code: unknown) {
  return app.inject({
    method: 'POST',
    url: '/user/me/email/verify',
    headers: bearer(token),
    payload: { code },
  })
}

export function resendVerification(app: App, token: string) {
  return app.inject({
    method: 'POST',
    url: '/user/me/email/verification',
    headers: bearer(token),
    payload: {},
  })
}

export function changeEmail(app: App, token: string, payload: Record<string, unknown>) {
  return app.inject({ method: 'PUT', url: '/user/me/email', headers: bearer(token), payload })
}

/** POST /recovery/ from `address` (request.ip). */
export function requestRecovery(app: App, payload: Record<string, unknown>, address = '127.0.0.1') {
  return app.inject({ method: 'POST', url: '/recovery/', payload, remoteAddress: address })
}

/** POST /recovery/complete from `address` (request.ip). */
export function completeRecovery(
  app: App,
  payload: Record<string, unknown>,
  address = '127.0.0.1',
) {
  return app.inject({ method: 'POST', url: '/recovery/complete', payload, remoteAddress: address })
}

/** Registers `login` with `email`, verifies it with the mailed code, and logs in. */
export async function verifiedAccount(
  app: App,
  mailbox: Mailbox,
  login: string,
  email: string,
): Promise<Session> {
  const created = await registerWithEmail(app, login, email)
  assert.equal(created.statusCode, 201, created.body)
  const mine = await session(app, login)
  const code = codeIn(await mailbox.next(email, SUBJECT.verification))
  const verified = await verifyEmail(app, mine.access_token, code)
  assert.equal(verified.statusCode, 200, verified.body)
  assert.equal(verified.json().email_verified, true)
  return mine
}

/** Waits until the outbox has nothing left on any channel: every request worked, every mail sent. */
export async function outboxDrained(app: App): Promise<void> {
  await eventually(
    async () => {
      const row = await app.store.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },
    { what: 'an empty outbox', until: (n) => n === 0 },
  )
}

/** Every mail the mailbox received for `to` (addresses compared without case), by subject. */
export async function mailsTo(mailbox: Mailbox, to: string, subject?: RegExp) {
  return (await mailbox.all()).filter(
    (m) => m.to.toLowerCase() === to.toLowerCase() && (!subject || subject.test(m.subject)),
  )
}

/** A code of the same length that is not `code` (its last digit moved on by one). */
export function otherCode(code: string): string {
  return code.replace(/\d$/, (d) => String((Number(d) + 1) % 10)).padStart(code.length, '0')
}
