// Accounts with an email address, made through the API as any client would, and what browser
// tests read from the mail those accounts receive.
import assert from 'node:assert/strict'
import type { App } from '../../src/app.ts'
import type { Tab } from './browser.ts'
import { codeIn, type Mailbox, type Received } from './mail.ts'
import { bearer, PASSWORD, session } from './requests.ts'

/** POST /user/ with an email address; the mail goes out in `language`. */
export async function registerWithEmail(
  app: App,
  login: string,
  email: string,
  { password = PASSWORD, language = 'en' } = {},
) {
  const res = await app.inject({
    method: 'POST',
    url: '/user/',
    headers: { 'accept-language': language },
    payload: { login, password, email },
  })
  assert.equal(res.statusCode, 201, res.body)
  return res.json() as { id: string; login: string; email: string; email_verified: boolean }
}

/** Registers with an address and confirms it with the code the service mails to it. */
export async function registerVerified(
  app: App,
  mail: Mailbox,
  login: string,
  email: string,
  password = PASSWORD,
) {
  await registerWithEmail(app, login, email, { password })
  const code = codeIn(await mail.next(email))
  const { access_token } = await session(app, login, password)
  const res = await app.inject({
    method: 'POST',
    url: '/user/me/email/verify',
    headers: bearer(access_token),
    payload: { code },
  })
  assert.equal(res.statusCode, 200, res.body)
}

/**
 * The page address of a mail's link, on the test's origin (PUBLIC_URL is the service's own
 * address, whose port is not the test server's). The code is in the fragment: `/#/…`.
 */
export function linkIn(mail: Received, origin: string): string {
  const link = /https?:\/\/[^\s/]+(\/#\/\S+)/.exec(mail.text)?.[1]
  if (!link) throw new Error(`no link in the mail "${mail.subject}":\n${mail.text}`)
  return `${origin}${link}`
}

/** Opens a mail's link in the tab, as a click in a mail client would (a fresh page load). */
export async function followLink(tab: Tab, mail: Received) {
  await tab.page.goto(linkIn(mail, tab.origin))
  await tab.page.locator('body[data-ready="true"]').waitFor({ state: 'attached' })
}

/** Records the tab's requests from now on: `count(method, path)` says how many were made. */
export function recordRequests(tab: Tab) {
  const made: Array<{ method: string; path: string }> = []
  tab.page.on('request', (request) => {
    made.push({ method: request.method(), path: new URL(request.url()).pathname })
  })
  return {
    count: (method: string, path: string) =>
      made.filter((r) => r.method === method && r.path === path).length,
  }
}
