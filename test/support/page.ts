// What browser tests do on the app's pages, and what they check there.
import assert from 'node:assert/strict'
import { type CDPSession, errors, type Locator, type Page } from 'playwright-core'
import { SETTLE_MS, type Tab } from './browser.ts'
import { eventually } from './eventually.ts'
import type { Received } from './mail.ts'
import { PASSWORD } from './requests.ts'

/**
 * Loads `url` as a new page and waits until the app has restored any session. From a page of the
 * app, going to another route is only a change of the fragment (the same document, its state
 * kept): the tab leaves the document first, so that this is a real load every time.
 */
async function load(tab: Tab, url: string) {
  if (tab.page.url().startsWith(tab.origin)) await tab.page.goto('about:blank')
  await tab.page.goto(url)
  await tab.page.locator('body[data-ready="true"]').waitFor({ state: 'attached' })
}

/** Opens the app (at a route like '#/signup') and waits until it has restored any session. */
export async function openApp(tab: Tab, route = '') {
  await load(tab, `${tab.origin}/${route}`)
}

export async function reload(tab: Tab) {
  await tab.page.reload()
  await tab.page.locator('body[data-ready="true"]').waitFor({ state: 'attached' })
}

export function heading(page: Page, name: string | RegExp) {
  return page.getByRole('heading', { level: 1, name })
}

export async function fillSignIn(page: Page, login: string, password: string) {
  await page.getByLabel('Login', { exact: true }).fill(login)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
}

/** Signs in through the form and waits for the account page. */
export async function signInUi(tab: Tab, login: string, password = PASSWORD) {
  await openApp(tab, '#/signin')
  await fillSignIn(tab.page, login, password)
  await heading(tab.page, 'Your account').waitFor()
}

export async function fillSignUp(page: Page, login: string, password: string) {
  await page.getByLabel('Login', { exact: true }).fill(login)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Create account' }).click()
}

/**
 * The error shown next to a field: the input is marked invalid, its description starts with
 * the error, and the error sits in the field's own group, right under the input.
 */
export async function fieldError(field: Locator): Promise<string> {
  await field.and(field.page().locator('[aria-invalid="true"]')).waitFor()
  const describedBy = (await field.getAttribute('aria-describedby')) ?? ''
  const errorId = describedBy.split(' ')[0] ?? ''
  assert.match(errorId, /-error$/, `aria-describedby starts with the error: ${describedBy}`)
  const error = field.page().locator(`[id="${errorId}"]`)
  assert.equal(await error.isVisible(), true, 'the error is visible')
  const sameGroup = await field.evaluate(
    (input, id) => input.closest('.field')?.querySelector(`[id="${id}"]`) !== null,
    errorId,
  )
  assert.ok(sameGroup, 'the error is inside the field’s own group')
  return (await error.innerText()).trim()
}

/** The element's text matches `pattern` (at once, or within the timeout). */
export async function assertText(locator: Locator, pattern: RegExp, message?: string) {
  const text = await eventually(() => locator.innerText(), {
    what: `text matching ${pattern}`,
    until: (value) => pattern.test(value),
    timeoutMs: SETTLE_MS,
    lastOnTimeout: true,
  })
  assert.match(text, pattern, message)
}

/** The element has the keyboard focus (at once, or within the timeout). */
export async function assertFocused(locator: Locator, message = 'the element has the focus') {
  const page = locator.page()
  try {
    await locator.and(page.locator(':focus')).waitFor({ state: 'attached', timeout: SETTLE_MS })
  } catch (error) {
    if (!(error instanceof errors.TimeoutError)) throw error
    assert.fail(`${message}: ${await focused(page)} has it instead (${locator})`)
  }
}

/** What has the focus, as `tag#id` (`body#` when nothing does). */
export async function focused(page: Page): Promise<string> {
  return page.evaluate(
    "(() => { const el = document.activeElement; return el ? el.tagName.toLowerCase() + '#' + el.id : '' })()",
  )
}

/** No field of the page is marked invalid (at once, or within the timeout). */
export async function noFieldErrors(page: Page) {
  const invalid = page.locator('[aria-invalid="true"]')
  const count = await eventually(() => invalid.count(), {
    what: 'a page without invalid fields',
    until: (n) => n === 0,
    timeoutMs: SETTLE_MS,
    lastOnTimeout: true,
  })
  assert.equal(count, 0, 'no field is marked invalid')
}

/** The status region's text once it says `text`. */
export async function status(page: Page, text: string | RegExp) {
  const region = page.getByRole('status')
  await region.filter({ hasText: text }).waitFor()
  return (await region.innerText()).trim()
}

/**
 * Opens a mail's link in the tab, as a click in a mail client does (a fresh page load), on the
 * test's origin: PUBLIC_URL is the service's own address, whose port is not the test server's.
 * The code is in the fragment (`/#/…`), which is what the page reads.
 */
export async function followLink(tab: Tab, mail: Received) {
  const link = /https?:\/\/[^\s/]+(\/#\/\S+)/.exec(mail.text)?.[1]
  if (!link) throw new Error(`no link in the mail "${mail.subject}":\n${mail.text}`)
  await load(tab, `${tab.origin}${link}`)
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

async function heldPasskeys(cdp: CDPSession, authenticatorId: string) {
  return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials
}

/** A passkey as Chromium's virtual authenticator holds it (private key and count included). */
export type HeldPasskey = Awaited<ReturnType<typeof heldPasskeys>>[number]

/**
 * A platform authenticator for the tab's page (Chromium's virtual authenticator, over CDP): it
 * holds discoverable passkeys and verifies the user. While `presence` is on it answers at once,
 * as a touch would; a request to an autofill (conditional mediation) included, which it answers
 * with its passkey as if the user had picked it. Off, requests wait.
 */
export async function virtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })
  return {
    /** The passkeys it holds. */
    credentials: () => heldPasskeys(cdp, authenticatorId),
    /**
     * Holds a passkey another one made, as a synced passkey arrives on a new device (with its
     * signature count: take the passkey from the authenticator that used it last).
     */
    async add(credential: HeldPasskey) {
      await cdp.send('WebAuthn.addCredential', { authenticatorId, credential })
    },
    /** Whether it answers by itself (a request made while off keeps waiting). */
    async presence(enabled: boolean) {
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled })
    },
  }
}
