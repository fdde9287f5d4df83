// Layout at phone width, in Russian (the longer words): what screenshots showed broken once.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { heading, openApp } from '../support/page.ts'
import { PASSWORD, register } from '../support/requests.ts'

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
        await page.getByRole('button', { name: 'Войти' }).click()
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
