// Saved recovery codes on the account page: a new set shown once, copied, downloaded as a text
// file (under the page's real CSP), one of them used to set a new password, the count left.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, SETTLE_MS, screenshot, serve, useBrowser } from '../support/browser.ts'
import { verifiedAccount } from '../support/email.ts'
import { eventually } from '../support/eventually.ts'
import { smtpSink } from '../support/mail.ts'
import {
  assertFocused,
  assertText,
  fieldError,
  heading,
  reload,
  signInUi,
  status,
} from '../support/page.ts'
import { login, NEW_PASSWORD, PASSWORD, register } from '../support/requests.ts'

const browser = useBrowser()

const CODE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/

function codesPart(page: Page) {
  return page.getByRole('region', { name: 'Saved recovery codes', exact: true })
}

test('saved recovery codes: made with the password, shown once, copied and downloaded; one sets a new password; the count drops', async (t) => {
  const mail = await smtpSink(t)
  const web = await serve(t, { SMTP_URL: mail.url })
  await verifiedAccount(web.app, mail, 'uma', 'uma@example.com')
  await inTab(browser(), web, async (tab) => {
    const { page, context } = tab
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: web.origin })
    await signInUi(tab, 'uma')
    const part = codesPart(page)
    const count = part.locator('[data-field="codes-remaining"]')
    await assertText(count, /^You have no saved recovery codes\.$/)
    const password = part.getByLabel('Password', { exact: true })
    const generate = part.getByRole('button', { name: 'Generate codes' })

    await password.fill('not my password at all')
    await generate.click()
    assert.equal(await fieldError(password), 'The password is wrong.')
    await password.fill(PASSWORD)
    await generate.click()
    await status(page, 'Ten new recovery codes were made; the old ones no longer work.')
    const shown = part.locator('[data-field="codes"] code')
    await shown.first().waitFor()
    const codes = await shown.allInnerTexts()
    assert.equal(codes.length, 10)
    for (const code of codes) assert.match(code, CODE)
    await assertFocused(
      part.getByRole('heading', { name: 'Your new recovery codes' }),
      'the focus goes to the new codes',
    )
    await part.getByText('They are shown only now.').waitFor()
    await assertText(count, /^You have 10 unused codes, from a set made /)
    assert.equal(await password.inputValue(), '', 'the password is not kept in the form')
    await screenshot(page, 'recovery-codes-shown')

    await part.getByRole('button', { name: 'Copy' }).click()
    await part.getByText('The codes are copied.').waitFor()
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), codes.join('\n'))

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      part.getByRole('button', { name: 'Download as .txt' }).click(),
    ])
    assert.equal(download.suggestedFilename(), 'usersvc-recovery-codes.txt')
    const text = await readFile(await download.path(), 'utf8')
    const lines = text.split('\n')
    assert.equal(lines[0], `usersvc recovery codes for uma (${web.origin})`)
    assert.match(lines[1] ?? '', /^Made .+\. Each code works once; a new set replaces this one\.$/)
    assert.deepEqual(
      lines.filter((line) => CODE.test(line)),
      codes,
      'every code, one a line, in order',
    )

    await part.getByRole('button', { name: 'I saved them: hide' }).click()
    assert.equal(await shown.count(), 0, 'the codes left the page')
    await assertFocused(part.getByRole('heading', { name: 'Saved recovery codes' }))
    // The account's confirmed address hears of it.
    const notice = await mail.next('uma@example.com')
    assert.equal(notice.subject, 'New recovery codes were created')
    // Shown once: a reload shows the count, never the codes.
    await reload(tab)
    await assertText(codesPart(page).locator('[data-field="codes-remaining"]'), /You have 10/)
    assert.equal(await codesPart(page).locator('[data-field="codes"]').count(), 0)

    await page.getByRole('button', { name: 'Log out', exact: true }).click()
    await heading(page, 'Sign in').waitFor()
    await page.getByRole('link', { name: 'Forgot your password?' }).click()
    await page.getByRole('link', { name: 'Use a saved recovery code' }).click()
    await heading(page, 'Use a saved recovery code').waitFor()
    await page.getByLabel('Login', { exact: true }).fill('uma')
    await page.getByLabel('Saved recovery code', { exact: true }).fill(codes[4] ?? '')
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Set new password' }).click()
    await heading(page, 'Sign in').waitFor()
    await status(page, /new password is set/)
    await page.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await heading(page, 'Your account').waitFor()
    await assertText(
      codesPart(page).locator('[data-field="codes-remaining"]'),
      /^You have 9 unused codes, from a set made /,
    )
  })
  assert.equal((await login(web.app, 'uma', PASSWORD)).statusCode, 401)
})

test('a second set replaces the first: the page says so before, and shows only new codes', async (t) => {
  const web = await serve(t)
  await register(web.app, 'walt')
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'walt')
    const part = codesPart(page)
    const replaces = part.getByText('A new set replaces the old one')
    assert.equal(await replaces.isVisible(), false, 'nothing to replace yet')
    await part.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await part.getByRole('button', { name: 'Generate codes' }).click()
    await part.locator('[data-field="codes"] code').first().waitFor()
    const first = await part.locator('[data-field="codes"] code').allInnerTexts()
    assert.equal(first.length, 10)
    await replaces.waitFor()
    await part.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await part.getByRole('button', { name: 'Generate codes' }).click()
    await eventuallyDifferent(page, first)
  })
})

/** The codes shown are no longer `before`. */
async function eventuallyDifferent(page: Page, before: string[]) {
  const shown = codesPart(page).locator('[data-field="codes"] code')
  await eventually(() => shown.first().innerText(), {
    what: 'a new set shown',
    until: (first) => first !== before[0],
    timeoutMs: SETTLE_MS,
  })
  const after = await shown.allInnerTexts()
  assert.equal(after.length, 10)
  assert.equal(after.filter((code) => before.includes(code)).length, 0, 'a whole new set')
}
