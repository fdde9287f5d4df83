// Layout at phone width, in Russian (the longer words): what screenshots showed broken once; and
// the recovery views and the account page's email and recovery-code parts in both languages at
// phone and desktop widths (screenshots in test-artifacts/screenshots/ to look at).
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, SCREENSHOTS, screenshot, serve, useBrowser } from '../support/browser.ts'
import { registerWithEmail } from '../support/email.ts'
import { type HeldPasskey, heading, openApp, virtualAuthenticator } from '../support/page.ts'
import { login, PASSWORD, register } from '../support/requests.ts'

const browser = useBrowser()

/** Page code as text: this program is type-checked without the DOM library. */
const SIDEWAYS = `document.documentElement.scrollWidth - document.documentElement.clientWidth`

/** How many lines the element's text takes (an inline element has one box a line). */
function lines(page: Page, selector: string): Promise<number> {
  return page.locator(selector).evaluate((element) => element.getClientRects().length)
}

test('at 390 px in Russian: no view scrolls sideways, menu links and account values stay whole', async (t) => {
  const web = await serve(t)
  await web.app.users.register('administrator', PASSWORD, 'admin')
  await register(web.app, 'anna')
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await page.setViewportSize({ width: 390, height: 800 })
      /** The view shown fits the width, and each link of the menu is on one line. */
      const fits = async (view: string) => {
        assert.equal(await page.evaluate(SIDEWAYS), 0, `${view}: no sideways scrolling`)
        for (const link of await page.locator('#nav a').all()) {
          const text = await link.innerText()
          const boxes = await link.evaluate((a) => a.getClientRects().length)
          assert.equal(boxes, 1, `${view}: the menu link ${text} is on one line`)
        }
      }
      const signIn = async (login: string) => {
        await openApp(tab, '#/signin')
        await heading(page, 'Вход').waitFor()
        await fits('sign-in')
        await page.getByLabel('Логин', { exact: true }).fill(login)
        await page.getByLabel('Пароль', { exact: true }).fill(PASSWORD)
        await page.getByRole('button', { name: 'Войти', exact: true }).click()
        await heading(page, 'Ваша учётная запись').waitFor()
        await fits(`${login}'s account`)
      }
      await openApp(tab, '#/signup')
      await heading(page, 'Регистрация').waitFor()
      await fits('sign-up')

      await signIn('anna')
      await openApp(tab, '#/users')
      await page.getByText('Список пользователей доступен только администраторам.').waitFor()
      await fits('users, for a user')
      await openApp(tab, '#/account')
      await page.getByRole('button', { name: 'Выйти', exact: true }).click()

      await signIn('administrator')
      assert.equal(await lines(page, '[data-field="role"]'), 1, '«администратор» is not broken')
      await screenshot(page, 'account-ru-390')
      await page.getByRole('link', { name: 'Пользователи' }).click()
      await page.locator('tr[data-user="anna"]').waitFor()
      await fits('users')
    },
    { locale: 'ru-RU' },
  )
})

test('recovery views, the verification link and the account page’s new parts, at 390 and 1280 px in both languages: nothing scrolls sideways', async (t) => {
  const web = await serve(t)
  // A long address: it must wrap, not widen the page.
  assert.equal(
    (await registerWithEmail(web.app, 'anastasia', 'anastasia.konstantinopolskaya@example.com'))
      .statusCode,
    201,
  )
  for (const locale of ['en-US', 'ru-RU']) {
    for (const width of [390, 1280]) {
      await inTab(
        browser(),
        web,
        async (tab) => {
          const { page } = tab
          await page.setViewportSize({ width, height: 800 })
          const size = `${locale.slice(0, 2)}-${width}`
          const look = async (view: string) => {
            await page.locator('#view h1').waitFor()
            assert.equal(
              await page.evaluate(SIDEWAYS),
              0,
              `${view} (${size}): no sideways scrolling`,
            )
            await screenshot(page, `${view}-${size}`)
          }
          await openApp(tab, '#/forgot')
          await look('forgot')
          await openApp(tab, '#/recover?login=anastasia&code=12345678')
          await page.locator('.policy li').first().waitFor()
          await look('recover')
          await openApp(tab, '#/recovery-code')
          await page.locator('form button[type="submit"]').click()
          await page.locator('[aria-invalid="true"]').first().waitFor()
          await look('recovery-code-errors')
          await openApp(tab, '#/verify-email?code=123456')
          await look('verify-email-signed-out')
          await page.locator('input[name="login"]').fill('anastasia')
          await page.locator('input[name="password"]').fill(PASSWORD)
          await page.locator('form button[type="submit"]').click()
          await page.locator('input[name="code"]').waitFor()
          await look('verify-email')
          await openApp(tab, '#/account')
          await page.locator('details.manage > summary').click()
          const codes = page.locator('section[aria-labelledby="account-codes"]')
          await codes.locator('input[name="password"]').fill(PASSWORD)
          await codes.locator('button[type="submit"]').click()
          await codes.locator('[data-field="codes"] code').first().waitFor()
          await look('account-recovery')
          for (const part of ['account-email', 'account-codes']) {
            await page
              .locator(`section[aria-labelledby="${part}"]`)
              .screenshot({ path: join(SCREENSHOTS, `${part}-${size}.png`) })
          }
        },
        { locale },
      )
    }
  }
})

test('the security page and the second step, at 390 and 1280 px in both languages: nothing scrolls sideways, the QR code keeps its size', async (t) => {
  const web = await serve(t, {}, { passkeys: true })
  const name = 'konstantin.konstantinopolsky'
  await register(web.app, name)
  // Another device, signed in through the API.
  assert.equal((await login(web.app, name)).statusCode, 200)
  /** The passkey made the first time round, for the browsers after it. */
  let passkey: HeldPasskey | undefined
  for (const locale of ['en-US', 'ru-RU']) {
    for (const width of [390, 1280]) {
      await inTab(
        browser(),
        web,
        async (tab) => {
          const { page } = tab
          const authenticator = await virtualAuthenticator(page)
          const size = `${locale.slice(0, 2)}-${width}`
          const look = async (view: string) => {
            assert.equal(
              await page.evaluate(SIDEWAYS),
              0,
              `${view} (${size}): no sideways scrolling`,
            )
            await screenshot(page, `${view}-${size}`)
          }
          await page.setViewportSize({ width, height: 800 })
          // The autofill signs in with it (the authenticator answers at once).
          if (passkey) await authenticator.add(passkey)
          await openApp(tab, '#/signin')
          if (!passkey) {
            await page.locator('input[name="login"]').fill(name)
            await page.locator('input[name="password"]').fill(PASSWORD)
            await page.locator('form button[type="submit"]').click()
          }
          await page.locator('section[aria-labelledby="account-security"]').waitFor()
          await openApp(tab, '#/security')
          if (!passkey) {
            // An app being set up, and a passkey with a long name; the account has a factor
            // then, and this session signed in without it is told how to change more.
            const totp = page.locator('section[aria-labelledby="security-totp"]')
            await totp.locator('input[name="password"]').fill(PASSWORD)
            await totp.locator('form button[type="submit"]').click()
            const qr = totp.locator('[data-field="qr"] svg')
            await qr.waitFor()
            const box = await qr.boundingBox()
            assert.equal(Math.round(box?.width ?? 0), 192, 'the QR code is 12rem wide')
            await look('security-totp')
            const passkeys = page.locator('section[aria-labelledby="security-passkeys"]')
            await passkeys.locator('input[name="name"]').fill('Рабочий ноутбук в переговорной')
            await passkeys.locator('button[type="submit"]').click()
            await page.locator('[data-field="step-up"]').waitFor()
          }
          await page.locator('[data-field="factors"] li').first().waitFor()
          await page.locator('[data-field="sessions"] li').nth(1).waitFor()
          await look('security')
          for (const part of ['security-factors', 'security-devices']) {
            await page
              .locator(`section[aria-labelledby="${part}"]`)
              .screenshot({ path: join(SCREENSHOTS, `${part}-${size}.png`) })
          }

          await authenticator.presence(false)
          await openApp(tab, '#/account')
          await page.locator('section[aria-labelledby="account-sessions"] button').first().click()
          await page.locator('input[name="login"]').fill(name)
          await page.locator('input[name="password"]').fill(PASSWORD)
          await page.locator('form button[type="submit"]').click()
          await page.locator('.second-step form').waitFor()
          await look('second-step')
          // Its signature count has grown: the next browser gets it as it is now.
          passkey = (await authenticator.credentials())[0]
        },
        { locale },
      )
    }
  }
})
