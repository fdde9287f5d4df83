// A forgotten password on the pages: a code by mail (asked for by login or by email address,
// typed or from the mail's link) or a saved recovery code, then a new password. Mail goes to a
// real SMTP server and the codes are read from it, as a user reads them.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { verifiedAccount } from '../support/email.ts'
import { codeIn, smtpSink } from '../support/mail.ts'
import {
  assertFocused,
  fieldError,
  followLink,
  heading,
  noFieldErrors,
  openApp,
  recordRequests,
  status,
} from '../support/page.ts'
import { codesOf } from '../support/recovery-codes.ts'
import { login, NEW_PASSWORD, PASSWORD, register, session } from '../support/requests.ts'

const browser = useBrowser()

/** A code of the same length that is not `code`. */
function wrong(code: string) {
  return code.startsWith('0') ? code.replace('0', '1') : `0${code.slice(1)}`
}

async function signInWith(page: Page, password: string, labels = { password: 'Password' }) {
  await page.getByLabel(labels.password, { exact: true }).fill(password)
  await page.getByRole('button', { name: /^(Sign in|Войти)$/ }).click()
}

test('forgot password, by login: the code from the mail and a new password; the old one no longer signs in', async (t) => {
  const mail = await smtpSink(t)
  const web = await serve(t, { SMTP_URL: mail.url })
  await verifiedAccount(web.app, mail, 'sara', 'sara@example.com')
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab, '#/signin')
    await page.getByRole('link', { name: 'Forgot your password?' }).click()
    await heading(page, 'Forgot your password?').waitFor()
    await assertFocused(heading(page, 'Forgot your password?'))
    assert.equal(await page.getByLabel('its login').isChecked(), true, 'by login unless told')
    await page.getByLabel('Login', { exact: true }).fill('sara')
    await page.getByRole('button', { name: 'Send code' }).click()

    await heading(page, 'Set a new password').waitFor()
    await status(page, 'If the account has an email address, a code is on its way to it.')
    await page.getByText('For the account sara.').waitFor()
    const message = await mail.next('sara@example.com')
    assert.equal(message.subject, 'Reset your password')
    const code = page.getByLabel('Code from the mail', { exact: true })
    const next = page.getByLabel('New password', { exact: true })
    const submit = page.getByRole('button', { name: 'Set new password' })
    // The rules are there before anything is sent.
    await page.getByText('at least 15 characters').waitFor()

    await code.fill(wrong(codeIn(message)))
    await next.fill(NEW_PASSWORD)
    await submit.click()
    assert.equal(
      await fieldError(code),
      'The code is wrong, expired or already used. Ask for a new one.',
    )
    // A refused password spends nothing: the same code then works.
    await code.fill(codeIn(message))
    await next.fill('sara sara sara sara')
    await submit.click()
    assert.equal(await fieldError(next), 'The password must not contain your login.')
    await screenshot(page, 'recover-errors')
    await next.fill(NEW_PASSWORD)
    await submit.click()

    await heading(page, 'Sign in').waitFor()
    assert.match(await status(page, /new password is set/), /every session of the account/)
    assert.equal(await page.getByLabel('Login', { exact: true }).inputValue(), 'sara')
    await signInWith(page, PASSWORD)
    assert.equal(
      await fieldError(page.getByLabel('Password', { exact: true })),
      'Wrong login or password.',
    )
    await signInWith(page, NEW_PASSWORD)
    await heading(page, 'Your account').waitFor()
    await noFieldErrors(page)
  })
  assert.equal((await login(web.app, 'sara', PASSWORD)).statusCode, 401)
})

test('forgot password, by email, in Russian by the language switch: the mail is in Russian, its link fills the form and waits', async (t) => {
  const mail = await smtpSink(t)
  const web = await serve(t, { SMTP_URL: mail.url })
  await verifiedAccount(web.app, mail, 'timur', 'timur@example.com')
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab, '#/forgot')
    await page.getByLabel('Language').selectOption('ru')
    await heading(page, 'Забыли пароль?').waitFor()
    await page.getByLabel('по адресу почты').check()
    assert.equal(await page.getByLabel('Логин', { exact: true }).isVisible(), false)
    await page.getByLabel('Адрес электронной почты', { exact: true }).fill('timur@example.com')
    await page.getByRole('button', { name: 'Прислать код' }).click()
    await heading(page, 'Восстановление пароля').waitFor()
    await page.getByText('Для учётной записи с адресом timur@example.com.').waitFor()
    await status(page, 'Если у учётной записи есть адрес почты, код уже в пути.')

    // The browser is English; the page was switched to Russian, and so is the mail.
    const message = await mail.next('timur@example.com')
    assert.equal(message.subject, 'Восстановление пароля')
    const requests = recordRequests(tab)
    await followLink(tab, message)
    await heading(page, 'Восстановление пароля').waitFor()
    await page.getByText('Для учётной записи timur.').waitFor()
    const code = page.getByLabel('Код из письма', { exact: true })
    assert.equal(await code.inputValue(), codeIn(message), 'the code of the link is filled in')
    assert.ok(!page.url().includes(codeIn(message)), 'the code left the address bar')
    await page.waitForLoadState('networkidle')
    assert.equal(requests.count('POST', '/recovery/complete'), 0, 'nothing sent by itself')
    await screenshot(page, 'recover-link-ru')

    await page.getByLabel('Новый пароль', { exact: true }).fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Задать новый пароль' }).click()
    await heading(page, 'Вход').waitFor()
    await status(page, /Новый пароль задан/)
    assert.equal(await page.getByLabel('Логин', { exact: true }).inputValue(), 'timur')
    await signInWith(page, PASSWORD, { password: 'Пароль' })
    assert.equal(
      await fieldError(page.getByLabel('Пароль', { exact: true })),
      'Неверный логин или пароль.',
    )
    await signInWith(page, NEW_PASSWORD, { password: 'Пароль' })
    await heading(page, 'Ваша учётная запись').waitFor()
  })
})

test('forgot password: a new code may be asked for; the first one is then refused', async (t) => {
  const mail = await smtpSink(t)
  const web = await serve(t, { SMTP_URL: mail.url })
  await verifiedAccount(web.app, mail, 'ugo', 'ugo@example.com')
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab, '#/forgot')
    await page.getByLabel('its email address').check()
    await page.getByLabel('Email address', { exact: true }).fill('ugo@example.com')
    await page.getByRole('button', { name: 'Send code' }).click()
    await heading(page, 'Set a new password').waitFor()
    const first = codeIn(await mail.next('ugo@example.com'))
    await page.getByRole('button', { name: 'Send a new code' }).click()
    const second = codeIn(await mail.next('ugo@example.com'))
    const code = page.getByLabel('Code from the mail', { exact: true })
    await code.fill(first)
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Set new password' }).click()
    assert.equal(
      await fieldError(code),
      'The code is wrong, expired or already used. Ask for a new one.',
    )
    await code.fill(second)
    await page.getByRole('button', { name: 'Set new password' }).click()
    await heading(page, 'Sign in').waitFor()
    // Found by address: the login is not known to the page, so it is not filled in.
    assert.equal(await page.getByLabel('Login', { exact: true }).inputValue(), '')
  })
  assert.equal((await login(web.app, 'ugo', NEW_PASSWORD)).statusCode, 200)
})

test('saved recovery code, in Russian: a wrong one is refused at its field, a right one sets the new password once', async (t) => {
  const web = await serve(t)
  await register(web.app, 'vera')
  const [saved = ''] = await codesOf(web.app, (await session(web.app, 'vera')).access_token)
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await openApp(tab, '#/signin')
      await page.getByRole('link', { name: 'Забыли пароль?' }).click()
      await page
        .getByRole('link', { name: 'Воспользуйтесь сохранённым кодом восстановления' })
        .click()
      await heading(page, 'Вход по сохранённому коду восстановления').waitFor()
      const loginField = page.getByLabel('Логин', { exact: true })
      const code = page.getByLabel('Сохранённый код восстановления', { exact: true })
      const next = page.getByLabel('Новый пароль', { exact: true })
      const submit = page.getByRole('button', { name: 'Задать новый пароль' })
      await loginField.fill('vera')
      await code.fill('AAAA-AAAA-AAAA-AAAA-AAAA')
      await next.fill(NEW_PASSWORD)
      await submit.click()
      const refused =
        'Этот код восстановления неверен, уже использован или заменён более новым набором.'
      assert.equal(await fieldError(code), refused)
      // As typed from paper: lower case, no dashes.
      await code.fill(saved.toLowerCase().replaceAll('-', ''))
      await next.fill('kq7$vz')
      await submit.click()
      assert.equal(await fieldError(next), 'Слишком короткий: нужно хотя бы 15 символов.')
      await next.fill(NEW_PASSWORD)
      await submit.click()
      await heading(page, 'Вход').waitFor()
      await status(page, /Новый пароль задан/)
      assert.equal(await page.getByLabel('Логин', { exact: true }).inputValue(), 'vera')

      // Spent: the same code again is refused.
      await openApp(tab, '#/recovery-code?login=vera')
      await page.getByLabel('Сохранённый код восстановления', { exact: true }).fill(saved)
      await page.getByLabel('Новый пароль', { exact: true }).fill(`${NEW_PASSWORD} again`)
      await page.getByRole('button', { name: 'Задать новый пароль' }).click()
      assert.equal(
        await fieldError(page.getByLabel('Сохранённый код восстановления', { exact: true })),
        refused,
      )
    },
    { locale: 'ru-RU' },
  )
  assert.equal((await login(web.app, 'vera', NEW_PASSWORD)).statusCode, 200)
})

test('recovery pages, opened with no session (links from mail too), make no failed request', async (t) => {
  const web = await serve(t)
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    const routes: Array<[string, string]> = [
      ['#/forgot', 'Forgot your password?'],
      ['#/recover?login=nobody&code=12345678', 'Set a new password'],
      ['#/recover', 'Forgot your password?'],
      ['#/recovery-code', 'Use a saved recovery code'],
      ['#/verify-email?code=123456', 'Confirm your email address'],
    ]
    for (const [route, title] of routes) {
      await openApp(tab, route)
      await heading(page, title).waitFor()
      await page.waitForLoadState('networkidle')
    }
    assert.deepEqual(tab.refusals, [], 'no refused API request in the console')
  })
})
