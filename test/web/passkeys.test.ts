// Passkeys on the page, with Chromium's virtual authenticator (over CDP) in the place of a
// fingerprint reader: added on the security page, then signing in without a password, and as the
// second step after one; a change that needs the second factor asks to sign in again with it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { eventually } from '../support/eventually.ts'
import {
  assertFocused,
  assertText,
  fillSignIn,
  heading,
  recordRequests,
  signInUi,
  status,
  virtualAuthenticator,
} from '../support/page.ts'
import { login, PASSWORD, register } from '../support/requests.ts'
import { totpCode } from '../support/totp.ts'

const browser = useBrowser()

async function toSecurity(page: Page) {
  await page.getByRole('link', { name: 'Security', exact: true }).click()
  await heading(page, 'Sign-in and security').waitFor()
}

/** Adds a passkey on the security page (shown). */
async function addPasskey(page: Page, name: string) {
  const card = page.getByRole('region', { name: 'Passkeys', exact: true })
  await card.getByLabel('Name (optional)').fill(name)
  await card.getByRole('button', { name: 'Add a passkey' }).click()
}

/** Logs out on the account page; the sign-in view follows. */
async function logOut(page: Page) {
  await page.getByRole('link', { name: 'Your account', exact: true }).click()
  await page.getByRole('button', { name: 'Log out', exact: true }).click()
  await heading(page, 'Sign in').waitFor()
}

function factorList(page: Page) {
  return page.getByRole('region', { name: 'Your second factors' }).getByRole('listitem')
}

test('a passkey added on the page signs in without a password (button or autofill), and as the second step after one', async (t) => {
  const web = await serve(t, {}, { passkeys: true })
  await register(web.app, 'pia')
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    const authenticator = await virtualAuthenticator(page)
    const requests = recordRequests(tab)
    await signInUi(tab, 'pia')
    await toSecurity(page)
    await addPasskey(page, 'Laptop')
    await status(page, 'The passkey was added.')
    await assertText(factorList(page).getByRole('heading'), /^Laptop\s+Passkey$/)
    const held = await authenticator.credentials()
    assert.equal(held.length, 1, 'the authenticator holds one passkey')
    assert.equal(held[0]?.isResidentCredential, true, 'a discoverable one')
    await screenshot(page, 'passkey-added')

    // Held back: the autofill's request waits, as for a user who has not picked a passkey.
    await authenticator.presence(false)
    const asked = requests.count('POST', '/session/passkey/options')
    await logOut(page)
    const login = page.getByLabel('Login', { exact: true })
    assert.equal(await login.getAttribute('autocomplete'), 'username webauthn')
    await eventually(() => requests.count('POST', '/session/passkey/options'), {
      what: 'the autofill asking for options',
      until: (n) => n === asked + 1,
    })
    await authenticator.presence(true)
    // The button's request takes the autofill's place.
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await heading(page, 'Your account').waitFor()
    assert.equal(await status(page, /signed in/), 'You are signed in as pia.')
    assert.equal(requests.count('POST', '/session/passkey'), 1)

    // With the password first, the passkey is the second step.
    await authenticator.presence(false)
    await logOut(page)
    await fillSignIn(page, 'pia', PASSWORD)
    await page.getByText('Confirm with one of the passkeys of this account.').waitFor()
    // No app and no saved codes: the passkey is the form's own button, and has the focus.
    const use = page.getByRole('button', { name: 'Use a passkey' })
    await assertFocused(use)
    await authenticator.presence(true)
    await use.click()
    await heading(page, 'Your account').waitFor()
    assert.equal(requests.count('POST', '/session/mfa'), 1)
    await toSecurity(page)
    const devices = page.getByRole('region', { name: 'Where you are signed in' })
    await assertText(devices.getByRole('listitem'), /Sign-in\s+with a second factor/)
    await assertText(factorList(page), /Last used\s+\w+/)

    // The autofill: the authenticator answers it at once, as a user picking the passkey would.
    await logOut(page)
    await heading(page, 'Your account').waitFor()
    assert.equal(await status(page, /signed in/), 'You are signed in as pia.')
    assert.equal(requests.count('POST', '/session/passkey'), 2)
  })
})

test('a change that needs the second factor: “sign in again” with it, then back to the page, where a passkey can be added', async (t) => {
  const web = await serve(t, {}, { passkeys: true })
  await register(web.app, 'rae')
  const now = () => web.clock.now().getTime()
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    const authenticator = await virtualAuthenticator(page)
    await signInUi(tab, 'rae')
    await toSecurity(page)
    const app = page.getByRole('region', { name: 'Authenticator app', exact: true })
    await app.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await app.getByRole('button', { name: 'Set up an app' }).click()
    const secret = (await app.locator('[data-field="secret"]').innerText()).replaceAll(' ', '')
    await app.getByLabel('Code from your authenticator app').fill(totpCode(secret, now()))
    await app.getByRole('button', { name: 'Confirm' }).click()
    await status(page, 'The authenticator app is set up.')

    // This session was signed in with the password alone.
    await addPasskey(page, 'Laptop')
    const passkeys = page.getByRole('region', { name: 'Passkeys', exact: true })
    await passkeys
      .getByRole('alert')
      .getByText('To do this, sign in again with your second factor')
      .waitFor()
    await screenshot(page, 'step-up')
    await passkeys.getByRole('button', { name: 'Sign in again' }).click()
    await heading(page, 'Sign in').waitFor()
    await status(page, 'Sign in again, with your second factor, to continue.')
    assert.equal(await page.getByLabel('Login', { exact: true }).inputValue(), 'rae')
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    web.clock.advance(30)
    await page.getByLabel('Code from your authenticator app').fill(totpCode(secret, now()))
    await page.getByRole('button', { name: 'Confirm' }).click()
    await heading(page, 'Sign-in and security').waitFor()
    assert.equal(await page.locator('[data-field="step-up"]').isVisible(), false)
    await addPasskey(page, 'Laptop')
    await status(page, 'The passkey was added.')
    // The status can come before the list is drawn again: wait for the new entry.
    await factorList(page).nth(1).waitFor()
    assert.equal(await factorList(page).count(), 2)

    // Both offered at the second step: the code, or the passkey beside it.
    await authenticator.presence(false)
    await logOut(page)
    await fillSignIn(page, 'rae', PASSWORD)
    await page.getByLabel('Code from your authenticator app').waitFor()
    await authenticator.presence(true)
    await page.getByRole('button', { name: 'Use a passkey' }).click()
    await heading(page, 'Your account').waitFor()

    // A passkey removed (confirmed with the password) no longer signs in.
    await toSecurity(page)
    const laptop = factorList(page).filter({ hasText: 'Laptop' })
    await laptop.getByRole('button', { name: 'Remove Laptop' }).click()
    await laptop.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await laptop.getByRole('button', { name: 'Remove', exact: true }).click()
    await status(page, '“Laptop” was removed.')
    assert.equal(await factorList(page).count(), 1)
    await authenticator.presence(false)
    await logOut(page)
    await authenticator.presence(true)
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await page
      .getByText('This passkey was not accepted: it may have been removed from your account.')
      .waitFor()
  })
  assert.equal((await login(web.app, 'rae')).json().mfa_required, true)
})
