// Browser tests: Chromium (Debian's) driven by playwright-core, against the app served in-process
// over HTTPS (the refresh cookie is Secure). Every tab records console errors, uncaught
// exceptions, CSP violations and failed page assets; `inTab` fails the test on any of them.
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { after, before, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type Browser,
  type BrowserContext,
  chromium,
  errors,
  type Locator,
  type Page,
} from 'playwright-core'
import { loadTlsCredentials } from '../../src/tls/credentials.ts'
import { type Harness, makeApp, PASSWORD, tempDir } from '../helpers.ts'

export { PASSWORD }
export const ROOT = resolve(import.meta.dirname, '../..')
export const SCREENSHOTS = join(ROOT, 'test-artifacts/screenshots')
export const NEW_PASSWORD = 'a different long passphrase 42'
/** How long a check waits for the page to get to the state it expects: the contexts' default. */
export const SETTLE_MS = 15_000

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/**
 * One Chromium for the tests of a file (or of the describe block it is called in): launched
 * before them, closed after them. Returns the browser, for use inside the tests.
 */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined
  before(async () => {
    browser = await launch()
  })
  after(() => browser?.close())
  return () => {
    assert.ok(browser, 'the browser is launched before the tests run')
    return browser
  }
}

export interface Web extends Harness {
  origin: string
}

/** The whole app over HTTPS on a free port of 127.0.0.1, reached as https://localhost:PORT. */
export async function serve(t: TestContext, env: Record<string, string> = {}): Promise<Web> {
  const creds = await loadTlsCredentials({ enabled: true, dir: await tempDir(t), sans: [] })
  const harness = await makeApp(t, { tls: creds, env })
  await harness.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = harness.app.server.address() as AddressInfo
  return { ...harness, origin: `https://localhost:${port}` }
}

const API = /^\/(user|session|password-policy)(\/|$)/

export interface Tab {
  context: BrowserContext
  page: Page
  origin: string
  /** Console errors, page errors, CSP violations, failed assets: must stay empty. */
  problems: string[]
  /** API refusals the browser logged ("Failed to load resource" for a 4xx of the API). */
  refusals: string[]
  /** Requests the page made (full URLs). */
  requests: string[]
}

export interface TabOptions {
  locale?: string
  bypassCSP?: boolean
  /** The browser's time zone (UTC unless a test asks for another). */
  timezoneId?: string
  /** Leave the check of `problems` to the test (inTab asserts none otherwise). */
  ownChecks?: boolean
}

/** Records what must never happen on a page. */
export function watch(
  page: Page,
  origin: string,
  tab: Pick<Tab, 'problems' | 'refusals' | 'requests'>,
) {
  page.on('console', (message) => {
    if (message.type() !== 'error' && !/Content.Security.Policy/i.test(message.text())) return
    const url = message.location().url
    if (/^Failed to load resource/.test(message.text()) && url.startsWith(origin)) {
      const path = new URL(url).pathname
      if (API.test(path)) {
        tab.refusals.push(`${path}: ${message.text()}`)
        return
      }
    }
    tab.problems.push(`console ${message.type()}: ${message.text()} (${url})`)
  })
  page.on('pageerror', (error) => tab.problems.push(`page error: ${error.stack ?? error.message}`))
  page.on('request', (request) => tab.requests.push(request.url()))
  page.on('response', (response) => {
    const url = new URL(response.url())
    if (response.status() >= 400 && !API.test(url.pathname)) {
      tab.problems.push(`asset ${url.pathname}: HTTP ${response.status()}`)
    }
  })
}

export async function openTab(browser: Browser, origin: string, options: TabOptions = {}) {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    locale: options.locale ?? 'en-US',
    // Dates on the pages are in the browser's zone: fixed, so that tests can compute them.
    timezoneId: options.timezoneId ?? 'UTC',
    bypassCSP: options.bypassCSP ?? false,
    viewport: { width: 1000, height: 800 },
  })
  context.setDefaultTimeout(SETTLE_MS)
  // Violations also reach the console, but say it in plain words whatever Chromium prints.
  // (Page code is given as text: this program is type-checked without the DOM library.)
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (event) => {
      console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + event.blockedURI)
    })`,
  })
  const page = await context.newPage()
  const tab: Tab = { context, page, origin, problems: [], refusals: [], requests: [] }
  watch(page, origin, tab)
  return tab
}

/**
 * Runs `body` in a fresh browser context (its own cookies and storage), closes it, and then
 * asserts that nothing went wrong on its pages.
 */
export async function inTab(
  browser: Browser,
  web: Web,
  body: (tab: Tab) => Promise<void>,
  options: TabOptions = {},
): Promise<Tab> {
  const tab = await openTab(browser, web.origin, options)
  try {
    await body(tab)
  } finally {
    await tab.context.close()
  }
  if (!options.ownChecks) {
    assert.deepEqual(
      tab.problems,
      [],
      'no console errors, page errors, CSP violations or missing assets',
    )
  }
  return tab
}

/** Opens the app (at a route like '#/signup') and waits until it has restored any session. */
export async function openApp(tab: Tab, route = '') {
  await tab.page.goto(`${tab.origin}/${route}`)
  await tab.page.locator('body[data-ready="true"]').waitFor({ state: 'attached' })
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
  await page.getByRole('button', { name: 'Sign in' }).click()
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

/**
 * Reads `read()` again until `accept` holds of what it returns, for at most `timeout` ms, and
 * returns the last value read. The caller asserts on that value: a wrong one still fails (only
 * later), and a right one is no longer missed for having been read a moment too early.
 */
export async function eventually<T>(
  read: () => Promise<T> | T,
  accept: (value: T) => boolean,
  timeout = SETTLE_MS,
): Promise<T> {
  const deadline = Date.now() + timeout
  for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
    const value = await read()
    if (accept(value) || Date.now() >= deadline) return value
    await sleep(pause)
  }
}

/** The element's text matches `pattern` (at once, or within the timeout). */
export async function assertText(locator: Locator, pattern: RegExp, message?: string) {
  const text = await eventually(
    () => locator.innerText(),
    (value) => pattern.test(value),
  )
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
  const count = await eventually(
    () => invalid.count(),
    (n) => n === 0,
  )
  assert.equal(count, 0, 'no field is marked invalid')
}

export async function screenshot(page: Page, name: string) {
  await mkdir(SCREENSHOTS, { recursive: true })
  const path = join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

/** The status region's text once it says `text`. */
export async function status(page: Page, text: string | RegExp) {
  const region = page.getByRole('status')
  await region.filter({ hasText: text }).waitFor()
  return (await region.innerText()).trim()
}
