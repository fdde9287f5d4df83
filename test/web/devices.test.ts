// Where the account is signed in: two browsers (one says it is Firefox on Windows), each listed
// with its device, address and times; signing out the other one ends it there at once.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { assertText, heading, openApp, reload, signInUi, status } from '../support/page.ts'
import { register } from '../support/requests.ts'

const browser = useBrowser()

const FIREFOX_ON_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0'

function devices(page: Page) {
  return page.getByRole('region', { name: 'Where you are signed in' })
}

test('the list of sessions shows both browsers; “sign out this device” on the other ends it there', async (t) => {
  const web = await serve(t)
  await register(web.app, 'otto')
  await inTab(
    browser(),
    web,
    async (other) => {
      await signInUi(other, 'otto')
      await inTab(browser(), web, async (tab) => {
        const { page } = tab
        await signInUi(tab, 'otto')
        await page.getByRole('link', { name: 'Security', exact: true }).click()
        await heading(page, 'Sign-in and security').waitFor()
        const items = devices(page).getByRole('listitem')
        await assertText(devices(page), /Signed in on 2 devices\./)
        assert.equal(await items.count(), 2)
        // This device first, marked; the other by its browser and system.
        const here = items.nth(0)
        await assertText(here.getByRole('heading'), /^Chrome on Linux\s+This device$/)
        const there = items.nth(1)
        await assertText(there.getByRole('heading'), /^Firefox on Windows$/)
        for (const item of [here, there]) {
          await assertText(item, /Address\s+127\.0\.0\.1/)
          await assertText(item, /Signed in\s+\w+ \d+, \d{4}/)
          await assertText(item, /Last active\s+\w+ \d+, \d{4}/)
          await assertText(item, /Sign-in\s+without a second factor/)
        }
        await screenshot(page, 'devices')

        await there.getByRole('button', { name: 'Sign out this device' }).click()
        await status(page, 'Firefox on Windows was signed out.')
        await assertText(devices(page), /Signed in on 1 device\./)
        assert.equal(await items.count(), 1)
        // Ended there: the other browser's next request finds no session.
        await reload(other)
        await heading(other.page, 'Sign in').waitFor()
        // Still signed in here.
        await reload(tab)
        await heading(page, 'Sign-in and security').waitFor()

        // This device's own entry signs out here.
        await devices(page).getByRole('button', { name: 'Sign out this device' }).click()
        await heading(page, 'Sign in').waitFor()
        await status(page, 'You are logged out.')
        await openApp(tab, '#/security')
        await heading(page, 'Sign in').waitFor()
      })
    },
    { userAgent: FIREFOX_ON_WINDOWS },
  )
})
