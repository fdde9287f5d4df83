// Accessibility: axe-core on every page (no serious or critical violation), and keyboard use.
// axe is injected as a script, which the pages' CSP forbids, so these contexts bypass CSP;
// every other test runs under the real policy.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import {
  inTab,
  SETTLE_MS,
  screenshot,
  serve,
  type TabOptions,
  useBrowser,
} from '../support/browser.ts'
import { registerWithEmail } from '../support/email.ts'
import { eventually } from '../support/eventually.ts'
import { ROOT } from '../support/harness.ts'
import {
  assertFocused,
  fieldError,
  fillSignUp,
  focused,
  heading,
  openApp,
  signInUi,
  status,
  virtualAuthenticator,
} from '../support/page.ts'
import { PASSWORD, register } from '../support/requests.ts'

const browser = useBrowser()

const AXE = join(ROOT, 'node_modules/axe-core/axe.min.js')
const AXE_OPTIONS: TabOptions = { bypassCSP: true }

interface Violation {
  id: string
  impact: string | null
  help: string
  targets: string[]
}

/** Runs axe on the page as it is; returns the serious and critical violations. */
async function axe(page: Page): Promise<Violation[]> {
  await page.addScriptTag({ path: AXE })
  // Page code as text: this program is type-checked without the DOM library.
  const violations = (await page.evaluate(`(async () => {
    const result = await window.axe.run(document)
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    }))
  })()`)) as Violation[]
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

test('sign-in page: no serious accessibility violations', async (t) => {
  const web = await serve(t)
  await inTab(
    browser(),
    web,
    async (tab) => {
      await openApp(tab)
      await heading(tab.page, 'Sign in').waitFor()
      assert.deepEqual(await axe(tab.page), [])
    },
    AXE_OPTIONS,
  )
})

test('sign-up page with errors shown: no serious accessibility violations', async (t) => {
  const web = await serve(t)
  await inTab(
    browser(),
    web,
    async (tab) => {
      await openApp(tab, '#/signup')
      await fillSignUp(tab.page, 'a b', 'kq7$vz')
      await fieldError(tab.page.getByLabel('Login', { exact: true }))
      await fieldError(tab.page.getByLabel('Password', { exact: true }))
      assert.deepEqual(await axe(tab.page), [])
    },
    AXE_OPTIONS,
  )
})

test('account page: no serious accessibility violations', async (t) => {
  const web = await serve(t)
  await register(web.app, 'lena')
  await inTab(
    browser(),
    web,
    async (tab) => {
      await signInUi(tab, 'lena')
      assert.deepEqual(await axe(tab.page), [])
    },
    AXE_OPTIONS,
  )
})

test('recovery pages (errors shown) and a verification link while signed out: no serious accessibility violations', async (t) => {
  const web = await serve(t)
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await openApp(tab, '#/forgot')
      await heading(page, 'Forgot your password?').waitFor()
      await page.getByLabel('its email address').check()
      await page.getByRole('button', { name: 'Send code' }).click()
      await fieldError(page.getByLabel('Email address', { exact: true }))
      assert.deepEqual(await axe(page), [])
      await openApp(tab, '#/recover?login=nobody&code=12345678')
      await heading(page, 'Set a new password').waitFor()
      await page.getByText('at least 15 characters').waitFor()
      assert.deepEqual(await axe(page), [])
      await openApp(tab, '#/recovery-code')
      await heading(page, 'Use a saved recovery code').waitFor()
      await page.getByRole('button', { name: 'Set new password' }).click()
      await fieldError(page.getByLabel('Saved recovery code', { exact: true }))
      assert.deepEqual(await axe(page), [])
      await openApp(tab, '#/verify-email?code=123456')
      await heading(page, 'Confirm your email address').waitFor()
      assert.deepEqual(await axe(page), [])
    },
    AXE_OPTIONS,
  )
})

test('account page with an unconfirmed address, its forms open, and new recovery codes shown: no serious accessibility violations', async (t) => {
  const web = await serve(t)
  assert.equal((await registerWithEmail(web.app, 'lara', 'lara@example.com')).statusCode, 201)
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await signInUi(tab, 'lara')
      const email = page.getByRole('region', { name: 'Email address', exact: true })
      await email.getByText('Change or remove the address').click()
      const codes = page.getByRole('region', { name: 'Saved recovery codes', exact: true })
      await codes.getByLabel('Password', { exact: true }).fill(PASSWORD)
      await codes.getByRole('button', { name: 'Generate codes' }).click()
      await codes.locator('[data-field="codes"] code').first().waitFor()
      assert.deepEqual(await axe(page), [])
      await openApp(tab, '#/verify-email?code=123456')
      await page.getByLabel('Code from the mail', { exact: true }).waitFor()
      assert.deepEqual(await axe(page), [])
    },
    AXE_OPTIONS,
  )
})

test('security page (an app being set up, a passkey listed and its removal open, the step-up note) and the second step: no serious accessibility violations', async (t) => {
  const web = await serve(t, {}, { passkeys: true })
  await register(web.app, 'sia')
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      const authenticator = await virtualAuthenticator(page)
      await signInUi(tab, 'sia')
      await page.getByRole('link', { name: 'Security', exact: true }).click()
      const app = page.getByRole('region', { name: 'Authenticator app', exact: true })
      await app.getByLabel('Password', { exact: true }).fill(PASSWORD)
      await app.getByRole('button', { name: 'Set up an app' }).click()
      await app.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor()
      const passkeys = page.getByRole('region', { name: 'Passkeys', exact: true })
      await passkeys.getByRole('button', { name: 'Add a passkey' }).click()
      await status(page, 'The passkey was added.')
      const factors = page.getByRole('region', { name: 'Your second factors' })
      await factors.getByRole('button', { name: 'Remove Passkey' }).click()
      await assertFocused(factors.getByLabel('Password', { exact: true }))
      await page.locator('[data-field="step-up"]').waitFor()
      await page.locator('[data-field="sessions"] li').first().waitFor()
      assert.deepEqual(await axe(page), [])

      await authenticator.presence(false)
      await openApp(tab, '#/account')
      await page.getByRole('button', { name: 'Log out', exact: true }).click()
      await heading(page, 'Sign in').waitFor()
      assert.deepEqual(await axe(page), [], 'the sign-in page with its passkey button')
      await page.getByLabel('Login', { exact: true }).fill('sia')
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
      await page.getByRole('button', { name: 'Sign in', exact: true }).click()
      await page.getByRole('button', { name: 'Use a passkey' }).waitFor()
      assert.deepEqual(await axe(page), [], 'the second step')
    },
    AXE_OPTIONS,
  )
})

test('keyboard only: a forgotten password asked for by email address', async (t) => {
  const web = await serve(t)
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab, '#/signin')
    await page.getByLabel('Password', { exact: true }).focus()
    // Password, its show switch, the button, the passkey button, then the link.
    for (let i = 0; i < 4; i++) await page.keyboard.press('Tab')
    await assertFocused(page.getByRole('link', { name: 'Forgot your password?' }))
    await page.keyboard.press('Enter')
    await assertFocused(heading(page, 'Forgot your password?'), 'the new view’s heading')
    // The first radio button, then the arrow key picks the other.
    await page.keyboard.press('Tab')
    await assertFocused(page.getByLabel('its login'))
    await page.keyboard.press('ArrowRight')
    assert.equal(await page.getByLabel('its email address').isChecked(), true)
    await page.keyboard.press('Tab')
    await assertFocused(page.getByLabel('Email address', { exact: true }))
    await page.keyboard.type('nobody@example.com')
    await page.keyboard.press('Enter')
    await assertFocused(heading(page, 'Set a new password'), 'the next step’s heading')
  })
})

test('admin user list (with a delete confirmation open): no serious accessibility violations', async (t) => {
  const web = await serve(t)
  await web.app.users.register('root', PASSWORD, 'admin')
  for (const name of ['mia', 'ned', 'oly']) await register(web.app, name)
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await signInUi(tab, 'root')
      await page.getByRole('link', { name: 'Users' }).click()
      await page.locator('tr[data-user="oly"]').waitFor()
      assert.deepEqual(await axe(page), [])
      await page.getByRole('button', { name: 'Delete user ned' }).click()
      await page.getByRole('button', { name: 'Yes, delete ned' }).waitFor()
      assert.deepEqual(await axe(page), [])
    },
    AXE_OPTIONS,
  )
})

test('activity, a user’s events, the disable question and webhooks: no serious accessibility violations', async (t) => {
  const web = await serve(t)
  await web.app.users.register('root', PASSWORD, 'admin')
  const pia = (await register(web.app, 'pia')).json() as { id: string }
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await signInUi(tab, 'root')
      await page.getByRole('link', { name: 'Activity' }).click()
      await page.locator('ol.events > li').first().waitFor()
      assert.deepEqual(await axe(page), [], 'activity')
      await openApp(tab, '#/users')
      await page.getByRole('button', { name: 'Disable pia' }).click()
      await page.getByRole('button', { name: 'Yes, disable pia' }).waitFor()
      assert.deepEqual(await axe(page), [], 'the disable question')
      await openApp(tab, `#/user-events?id=${pia.id}`)
      await page.locator('ol.events > li').first().waitFor()
      await page.getByRole('button', { name: 'Disable pia' }).waitFor()
      assert.deepEqual(await axe(page), [], 'a user’s events')
      // The webhooks view, with its type choice open (the list may not load before the API is
      // there: the view's own parts are what is checked).
      await openApp(tab, '#/webhooks')
      await page.getByLabel('Only those I choose').check()
      await page.getByLabel(/Account created/).waitFor()
      assert.deepEqual(await axe(page), [], 'webhooks')
    },
    AXE_OPTIONS,
  )
})

test('keyboard only: skip link, sign in with Enter, every control reachable with Tab', async (t) => {
  const web = await serve(t)
  await register(web.app, 'pia')
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab)
    await heading(page, 'Sign in').waitFor()
    // Each read waits (a little) for the focus to get where it should before saying where it is.
    const focusIs = (expected: string) =>
      eventually(() => focused(page), {
        what: `the focus on ${expected}`,
        until: (now) => now === expected,
        timeoutMs: SETTLE_MS,
        lastOnTimeout: true,
      })
    await page.keyboard.press('Tab')
    assert.equal(await focusIs('a#skip'), 'a#skip')
    await page.keyboard.press('Enter')
    assert.equal(await focusIs('main#main'), 'main#main')

    // Tab from the top of the content: login, password, its show switch, the button, the passkey
    // button, the links.
    const stops = [
      'login',
      'password',
      '',
      'Sign in',
      'Sign in with a passkey',
      'Forgot your password?',
      'Create one',
      'API documentation',
    ]
    const stop = async (): Promise<string> =>
      page.evaluate(
        "(() => { const el = document.activeElement; return el.getAttribute('name') || el.textContent.trim() })()",
      )
    const seen: string[] = []
    for (const expected of stops) {
      await page.keyboard.press('Tab')
      seen.push(
        await eventually(stop, {
          what: `the focus on ${expected}`,
          until: (now) => now === expected,
          timeoutMs: SETTLE_MS,
          lastOnTimeout: true,
        }),
      )
      // The focus went elsewhere: stop, the assertion below says where.
      if (seen.at(-1) !== expected) break
    }
    assert.deepEqual(seen, stops)

    await page.getByLabel('Login', { exact: true }).focus()
    await page.keyboard.type('pia')
    await page.keyboard.press('Tab')
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press('Enter')
    await heading(page, 'Your account').waitFor()
    await assertFocused(
      heading(page, 'Your account'),
      'after signing in, the focus is on the new page’s heading',
    )
    await screenshot(page, 'account-keyboard')
  })
})
