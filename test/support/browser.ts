// Browser tests: Chromium (Debian's) driven by playwright-core, against the app served in-process
// over HTTPS (the refresh cookie is Secure). Every tab records console errors, uncaught
// exceptions, CSP violations and failed page assets; `inTab` fails the test on any of them.
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, type TestContext } from 'node:test'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { loadTlsCredentials } from '../../src/tls/credentials.ts'
import { type Harness, makeApp, ROOT, tempDir } from './harness.ts'
import { freePort } from './ports.ts'

/** Where screenshots go: SCREENSHOTS_DIR (say, under /tmp), else test-artifacts/screenshots/. */
export const SCREENSHOTS = process.env.SCREENSHOTS_DIR ?? join(ROOT, 'test-artifacts/screenshots')
/** How long a check waits for the page to get to the state it expects: the contexts' default. */
export const SETTLE_MS = 15_000

function launch(): Promise<Browser> {
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

interface Web extends Harness {
  origin: string
}

/**
 * The whole app over HTTPS on a free port of 127.0.0.1, reached as https://localhost:PORT.
 * `passkeys`: on a port chosen first, so that the service accepts passkeys from that origin
 * (WebAuthn checks the page's origin, and the RP ID `localhost` against its host).
 */
export async function serve(
  t: TestContext,
  env: Record<string, string> = {},
  options: { passkeys?: boolean } = {},
): Promise<Web> {
  const creds = await loadTlsCredentials({ enabled: true, dir: await tempDir(t), sans: [] })
  const fixed = options.passkeys ? await freePort() : 0
  const webauthn: Record<string, string> = options.passkeys
    ? { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: `https://localhost:${fixed}` }
    : {}
  const harness = await makeApp(t, { tls: creds, env: { ...webauthn, ...env } })
  await harness.app.listen({ host: '127.0.0.1', port: fixed })
  const { port } = harness.app.server.address() as AddressInfo
  return { ...harness, origin: `https://localhost:${port}` }
}

const API = /^\/(user|session|recovery|password-policy|audit|webhooks|oauth2)(\/|$)/

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
  /** The browser's User-Agent (another device's, for the list of sessions). */
  userAgent?: string
  viewport?: { width: number; height: number }
}

/** Records what must never happen on a page. */
function watch(page: Page, origin: string, tab: Pick<Tab, 'problems' | 'refusals' | 'requests'>) {
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

async function openTab(browser: Browser, origin: string, options: TabOptions = {}) {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    locale: options.locale ?? 'en-US',
    // Dates on the pages are in the browser's zone: fixed, so that tests can compute them.
    timezoneId: options.timezoneId ?? 'UTC',
    bypassCSP: options.bypassCSP ?? false,
    viewport: options.viewport ?? { width: 1000, height: 800 },
    ...(options.userAgent ? { userAgent: options.userAgent } : {}),
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

export async function screenshot(page: Page, name: string) {
  await mkdir(SCREENSHOTS, { recursive: true })
  const path = join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}
