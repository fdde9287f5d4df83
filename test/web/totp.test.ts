// An authenticator app on the page: set up with the QR code or the key (the test computes the
// codes from the key shown, as the app would), confirmed with a code; then signing in asks for
// the code, or a saved recovery code in its place; a second step that took too long starts over.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import {
  assertFocused,
  assertText,
  fieldError,
  fillSignIn,
  heading,
  openApp,
  signInUi,
  status,
} from '../support/page.ts'
import { codesOf } from '../support/recovery-codes.ts'
import { login, NEW_PASSWORD, PASSWORD, register } from '../support/requests.ts'
import { activeTotp, totpCode } from '../support/totp.ts'

const browser = useBrowser()

/** A code the service refuses now: none of the current step's, nor its neighbours'. */
function wrongCode(secret: string, atMs: number): string {
  const near = [-30_000, 0, 30_000].map((delta) => totpCode(secret, atMs + delta))
  let n = 0
  while (near.includes(String(n).padStart(6, '0'))) n++
  return String(n).padStart(6, '0')
}

async function toSecurity(page: Page) {
  await page.getByRole('link', { name: 'Security', exact: true }).click()
  await heading(page, 'Sign-in and security').waitFor()
}

/** The second step's code field, once the password was accepted. */
function codeField(page: Page) {
  return page.getByLabel('Code from your authenticator app', { exact: true })
}

test('an authenticator app set up on the page: QR code and key, a wrong code refused, the right one confirms; then signing in asks for its code', async (t) => {
  const web = await serve(t)
  await register(web.app, 'tess')
  const now = () => web.clock.now().getTime()
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'tess')
    await assertText(page.locator('[data-field="mfa-state"]'), /Two-step sign-in is off/)
    await toSecurity(page)
    const factors = page.getByRole('region', { name: 'Your second factors' })
    await assertText(factors.locator('[data-field="mfa-state"]'), /^Two-step sign-in is off/)

    const card = page.getByRole('region', { name: 'Authenticator app', exact: true })
    await card.getByLabel('Password', { exact: true }).fill('not my password at all')
    await card.getByRole('button', { name: 'Set up an app' }).click()
    assert.equal(
      await fieldError(card.getByLabel('Password', { exact: true })),
      'The password is wrong.',
    )
    await card.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await card.getByLabel('Name (optional)').fill('Phone')
    await card.getByRole('button', { name: 'Set up an app' }).click()

    const scan = card.getByRole('region', { name: 'Scan this QR code with your app' })
    await assertFocused(scan.getByRole('heading', { name: 'Scan this QR code with your app' }))
    const qr = scan.getByRole('img', { name: 'QR code for your authenticator app' })
    await qr.waitFor()
    // Drawn here, from the library's matrix: one square per module, on white with its margin.
    const box = await qr.boundingBox()
    assert.ok(box && box.width >= 180 && Math.abs(box.width - box.height) < 1, `${box?.width}`)
    const drawn = await qr.evaluate((svg) => ({
      viewBox: svg.getAttribute('viewBox') ?? '',
      squares: (svg.querySelector('path')?.getAttribute('d') ?? '').split('M').length - 1,
    }))
    // Versions 1–40 are 21–177 modules a side; with 4 of margin, 29–185.
    const side = Number(drawn.viewBox.split(' ')[2])
    assert.ok(side >= 29 && side <= 185 && (side - 29) % 4 === 0, drawn.viewBox)
    assert.ok(drawn.squares > 200, `${drawn.squares} dark modules`)

    const shown = await scan.locator('[data-field="secret"]').innerText()
    assert.match(shown, /^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/, 'the key, in groups of four')
    const secret = shown.replaceAll(' ', '')
    assert.equal(secret.length, 32, '160 bits')
    assert.equal(await card.getByLabel('Password', { exact: true }).isVisible(), false, 'hidden')
    await screenshot(page, 'totp-enrol')

    const code = scan.getByLabel('Code from your authenticator app', { exact: true })
    assert.equal(await code.getAttribute('autocomplete'), 'one-time-code')
    assert.equal(await code.getAttribute('inputmode'), 'numeric')
    await code.fill(wrongCode(secret, now()))
    await scan.getByRole('button', { name: 'Confirm' }).click()
    assert.equal(
      await fieldError(code),
      'This code is wrong or already used. Enter the code your app shows now.',
    )
    await code.fill(totpCode(secret, now()))
    await scan.getByRole('button', { name: 'Confirm' }).click()
    await status(page, 'The authenticator app is set up.')
    assert.equal(await scan.count(), 0, 'the key left the page')
    const item = factors.getByRole('listitem').filter({ hasText: 'Phone' })
    await assertText(item.getByRole('heading'), /^Phone\s+Authenticator app$/)
    await assertText(factors.locator('[data-field="mfa-state"]'), /^Two-step sign-in is on/)
    // This session began with the password alone: changes to factors now need one that did not.
    await page.locator('[data-field="step-up"]').getByText('without a second factor').waitFor()

    // Sign out here (this device's entry in the list), then in again: now with the code.
    const devices = page.getByRole('region', { name: 'Where you are signed in' })
    const here = devices.getByRole('listitem').filter({ hasText: 'This device' })
    await here.getByRole('button', { name: 'Sign out this device' }).click()
    await heading(page, 'Sign in').waitFor()
    await fillSignIn(page, 'tess', PASSWORD)
    await page.getByText('Second step: confirm it is you').waitFor()
    await assertFocused(codeField(page), 'the code field has the focus')
    // Its step was spent by the confirmation: the app's next code (±1 step is accepted).
    web.clock.advance(30)
    await codeField(page).fill(totpCode(secret, now()))
    await page.getByRole('button', { name: 'Confirm' }).click()
    await heading(page, 'Your account').waitFor()
    assert.equal(await status(page, /signed in/), 'You are signed in as tess.')
    await assertText(page.locator('[data-field="mfa-state"]'), /Two-step sign-in is on/)
    await toSecurity(page)
    await assertText(
      page.getByRole('region', { name: 'Where you are signed in' }).getByRole('listitem'),
      /Sign-in\s+with a second factor/,
    )
    await assertText(factors.getByRole('listitem'), /Last used\s+\w+/)
    assert.equal(await page.locator('[data-field="step-up"]').isVisible(), false)
  })
  // The password alone no longer signs in.
  const res = await login(web.app, 'tess')
  assert.equal(res.statusCode, 200)
  assert.equal(res.json().mfa_required, true)
  assert.equal(res.json().access_token, undefined)
})

test('the second step: a wrong code refused, a saved recovery code in its place (once), and a step that took too long goes back to the password', async (t) => {
  const web = await serve(t)
  await register(web.app, 'ugo')
  const now = () => web.clock.now().getTime()
  const token = (await login(web.app, 'ugo')).json().access_token as string
  const codes = await codesOf(web.app, token)
  const { secret } = await activeTotp(web.app, token)
  web.clock.advance(30)
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab, '#/signin')
    await fillSignIn(page, 'ugo', PASSWORD)
    await codeField(page).fill(wrongCode(secret, now()))
    await page.getByRole('button', { name: 'Confirm' }).click()
    assert.equal(
      await fieldError(codeField(page)),
      'This code is wrong or already used. Enter the code your app shows now.',
    )
    await screenshot(page, 'second-step-error')

    await page.getByRole('button', { name: 'Use a recovery code' }).click()
    const saved = page.getByLabel('Saved recovery code', { exact: true })
    await assertFocused(saved)
    await saved.fill(codes[0] ?? '')
    await page.getByRole('button', { name: 'Confirm' }).click()
    await heading(page, 'Your account').waitFor()
    await page.getByRole('button', { name: 'Log out', exact: true }).click()

    // The code is spent.
    await fillSignIn(page, 'ugo', PASSWORD)
    await page.getByRole('button', { name: 'Use a recovery code' }).click()
    await saved.fill(codes[0] ?? '')
    await page.getByRole('button', { name: 'Confirm' }).click()
    assert.equal(
      await fieldError(saved),
      'This recovery code is wrong, already used or replaced by a newer set.',
    )
    // The token lives 5 minutes: past them, the password again, the login kept.
    web.clock.advance(301)
    await page.getByRole('button', { name: 'Use the code from my app' }).click()
    await codeField(page).fill(totpCode(secret, now()))
    await page.getByRole('button', { name: 'Confirm' }).click()
    await page
      .getByRole('alert')
      .getByText(
        'The sign-in took too long, or had too many wrong codes. Enter your password again.',
      )
      .waitFor()
    const password = page.getByLabel('Password', { exact: true })
    await assertFocused(password)
    assert.equal(await page.getByLabel('Login', { exact: true }).inputValue(), 'ugo')
    assert.equal(await password.inputValue(), '', 'the password is not kept')
    await password.fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await codeField(page).fill(totpCode(secret, now()))
    await page.getByRole('button', { name: 'Confirm' }).click()
    await heading(page, 'Your account').waitFor()
  })
})

test('back to the password from the second step, and no factor means no second step', async (t) => {
  const web = await serve(t)
  await register(web.app, 'vic')
  await register(web.app, 'wes')
  const token = (await login(web.app, 'vic')).json().access_token as string
  await activeTotp(web.app, token)
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab, '#/signin')
    await fillSignIn(page, 'vic', PASSWORD)
    await codeField(page).waitFor()
    // Only an app and no saved codes: neither a passkey nor a recovery code is offered.
    assert.equal(await page.getByRole('button', { name: 'Use a passkey' }).count(), 0)
    assert.equal(await page.getByRole('button', { name: 'Use a recovery code' }).count(), 0)
    await page.getByRole('button', { name: 'Back to the password' }).click()
    await assertFocused(page.getByLabel('Password', { exact: true }))
    await fillSignIn(page, 'wes', PASSWORD)
    await heading(page, 'Your account').waitFor()
  })
})

test('a password change on an account with an app: every session ends, and the sign-in that follows asks for the code', async (t) => {
  const web = await serve(t)
  await register(web.app, 'xia')
  const now = () => web.clock.now().getTime()
  const token = (await login(web.app, 'xia')).json().access_token as string
  const { secret } = await activeTotp(web.app, token)
  web.clock.advance(30)
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab, '#/signin')
    await fillSignIn(page, 'xia', PASSWORD)
    await codeField(page).fill(totpCode(secret, now()))
    await page.getByRole('button', { name: 'Confirm' }).click()
    await heading(page, 'Your account').waitFor()
    const part = page.getByRole('region', { name: 'Change password' })
    await part.getByLabel('Current password').fill(PASSWORD)
    await part.getByLabel('New password').fill(NEW_PASSWORD)
    await part.getByRole('button', { name: 'Change password' }).click()
    await status(page, /Password changed, and every session of this account ended/)
    await heading(page, 'Sign in').waitFor()
    await assertFocused(codeField(page), 'the second step, its code field focused')
    web.clock.advance(30)
    await codeField(page).fill(totpCode(secret, now()))
    await page.getByRole('button', { name: 'Confirm' }).click()
    await heading(page, 'Your account').waitFor()
    assert.equal(await status(page, /signed in/), 'You are signed in as xia.')
  })
  assert.equal((await login(web.app, 'xia', NEW_PASSWORD)).json().mfa_required, true)
})
