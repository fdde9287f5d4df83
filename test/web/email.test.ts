// The email address on the pages: given at sign-up, confirmed with the mailed code (typed, or
// from the mail's link, which fills the form and waits), changed, removed. Mail goes to a real
// SMTP server and the codes are read from it, as a user reads them.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { registerWithEmail, verifiedAccount } from '../support/email.ts'
import { codeIn, smtpSink } from '../support/mail.ts'
import {
  assertFocused,
  fieldError,
  followLink,
  heading,
  noFieldErrors,
  openApp,
  recordRequests,
  reload,
  signInUi,
  status,
} from '../support/page.ts'
import { PASSWORD } from '../support/requests.ts'

const browser = useBrowser()

function section(page: Page, name: string) {
  return page.getByRole('region', { name, exact: true })
}

/** Whatever the page might still send by itself after it settled (it must send nothing). */
async function settled(page: Page) {
  await page.waitForLoadState('networkidle')
}

test('sign-up with an email address: the mailed code confirms it; a new code replaces the old', async (t) => {
  const mail = await smtpSink(t)
  const web = await serve(t, { SMTP_URL: mail.url })
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab, '#/signup')
    const email = page.getByLabel('Email address', { exact: true })
    assert.equal(await email.getAttribute('required'), null, 'the address is optional')
    await page.getByLabel('Login', { exact: true }).fill('olga')
    await email.fill('olga@example.com')
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Create account' }).click()
    await heading(page, 'Your account').waitFor()
    assert.match(
      await status(page, /created/),
      /signed in\. A code to confirm olga@example\.com is on its way\./,
    )
    const part = section(page, 'Email address')
    assert.equal(await part.locator('[data-field="email"]').innerText(), 'olga@example.com')
    assert.equal(await part.locator('[data-field="email-state"]').innerText(), 'not confirmed yet')
    await screenshot(page, 'account-email-unconfirmed')

    const first = await mail.next('olga@example.com')
    assert.equal(first.subject, 'Confirm your email address')
    const old = codeIn(first)
    await part.getByRole('button', { name: 'Send a new code' }).click()
    await status(page, 'A new code was mailed to olga@example.com.')
    const fresh = codeIn(await mail.next('olga@example.com'))

    // The first code died with the second.
    const code = part.getByLabel('Code from the mail', { exact: true })
    assert.equal(await code.getAttribute('autocomplete'), 'one-time-code')
    await code.fill(old)
    await part.getByRole('button', { name: 'Confirm address' }).click()
    assert.equal(
      await fieldError(code),
      'The code is wrong, expired or already used. Ask for a new one.',
    )
    await code.fill(fresh)
    await part.getByRole('button', { name: 'Confirm address' }).click()
    await status(page, 'The address olga@example.com is confirmed.')
    assert.equal(await part.locator('[data-field="email-state"]').innerText(), 'confirmed')
    assert.equal(await part.getByLabel('Code from the mail').count(), 0, 'no code to enter now')
    await assertFocused(
      part.getByRole('heading', { name: 'Email address' }),
      'the focus goes to the part’s heading (the form it was in is gone)',
    )
    await noFieldErrors(page)
    await reload(tab)
    assert.equal(
      await section(page, 'Email address').locator('[data-field="email-state"]').innerText(),
      'confirmed',
    )
  })
})

test('sign-up without an email address: the account page offers to add one', async (t) => {
  const mail = await smtpSink(t)
  const web = await serve(t, { SMTP_URL: mail.url })
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab, '#/signup')
    await page.getByLabel('Login', { exact: true }).fill('oleg')
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Create account' }).click()
    await heading(page, 'Your account').waitFor()
    assert.equal(
      await status(page, /created/),
      'The account oleg was created, and you are signed in.',
    )
    const part = section(page, 'Email address')
    await part.getByText('Your account has no email address.').waitFor()
    await part.getByLabel('Email address', { exact: true }).fill('oleg@example.com')
    await part.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await part.getByRole('button', { name: 'Add address' }).click()
    await status(page, /The address is now oleg@example\.com/)
    const code = codeIn(await mail.next('oleg@example.com'))
    await part.getByLabel('Code from the mail', { exact: true }).fill(code)
    await part.getByRole('button', { name: 'Confirm address' }).click()
    await status(page, 'The address oleg@example.com is confirmed.')
  })
})

test('new codes asked for too often: the wait is said in minutes, in both languages', async (t) => {
  const mail = await smtpSink(t)
  const web = await serve(t, { SMTP_URL: mail.url })
  assert.equal((await registerWithEmail(web.app, 'otto', 'otto@example.com')).statusCode, 201)
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'otto')
    const part = section(page, 'Email address')
    const resend = part.getByRole('button', { name: 'Send a new code' })
    // Registration mailed the first of the five codes an hour.
    for (let i = 0; i < 4; i++) {
      const answered = page.waitForResponse((r) => r.url().endsWith('/user/me/email/verification'))
      await resend.click()
      assert.equal((await answered).status(), 202)
      // The form takes one action at a time: the next click waits for this one to finish.
      await part.locator('form[aria-busy="true"]').waitFor({ state: 'detached' })
    }
    await resend.click()
    // The one message on the page (the other forms' are empty, hence hidden); not looked for
    // by the part's name, which changes with the language.
    const alert = page.getByRole('alert')
    assert.equal(await alert.innerText(), 'Too many attempts. Try again in 60 minutes.')
    await page.getByLabel('Language').selectOption('ru')
    assert.equal(await alert.innerText(), 'Слишком много попыток. Повторите через 60 минут.')
  })
})

test('sign-up where the service needs an address: its refusal is shown at the field', async (t) => {
  const web = await serve(t, { EMAIL_REQUIRED: 'on' })
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab, '#/signup')
    await page.getByLabel('Login', { exact: true }).fill('olive')
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Create account' }).click()
    const email = page.getByLabel('Email address', { exact: true })
    assert.equal(
      await fieldError(email),
      'Enter an email address: this service needs one for every account.',
    )
    await email.fill('olive@@example.com')
    await page.getByRole('button', { name: 'Create account' }).click()
    assert.equal(await fieldError(email), 'Enter an address like name@example.com, with one @.')
  })
})

test('in Russian: the verification link fills in the code and waits; signed out, it asks to sign in first', async (t) => {
  const mail = await smtpSink(t)
  const web = await serve(t, { SMTP_URL: mail.url })
  const created = await web.app.inject({
    method: 'POST',
    url: '/user/',
    headers: { 'accept-language': 'ru' },
    payload: { login: 'pavel', password: PASSWORD, email: 'pavel@example.com' },
  })
  assert.equal(created.statusCode, 201, created.body)
  const message = await mail.next('pavel@example.com')
  assert.equal(message.subject, 'Подтвердите адрес почты')
  const code = codeIn(message)
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      const requests = recordRequests(tab)
      await followLink(tab, message)
      await heading(page, 'Подтверждение адреса почты').waitFor()
      await page.getByText('Войдите, чтобы подтвердить адрес почты').waitFor()
      assert.ok(page.url().includes(code), 'signed out, the code stays with its route')
      await screenshot(page, 'verify-email-signed-out-ru')
      await page.getByLabel('Логин', { exact: true }).fill('pavel')
      await page.getByLabel('Пароль', { exact: true }).fill(PASSWORD)
      await page.getByRole('button', { name: 'Войти', exact: true }).click()

      const field = page.getByLabel('Код из письма', { exact: true })
      await field.waitFor()
      await heading(page, 'Подтверждение адреса почты').waitFor()
      assert.equal(await field.inputValue(), code, 'the code of the link is filled in')
      assert.ok(!page.url().includes(code), 'the code left the address bar once in the form')
      await page.getByText('Введите код, отправленный на pavel@example.com.').waitFor()
      await settled(page)
      assert.equal(requests.count('POST', '/user/me/email/verify'), 0, 'nothing sent by itself')

      await page.getByRole('button', { name: 'Подтвердить адрес' }).click()
      await heading(page, 'Ваша учётная запись').waitFor()
      await status(page, 'Адрес pavel@example.com подтверждён.')
      assert.equal(
        await section(page, 'Адрес почты').locator('[data-field="email-state"]').innerText(),
        'подтверждён',
      )
      assert.equal(requests.count('POST', '/user/me/email/verify'), 1)
    },
    { locale: 'ru-RU' },
  )
})

test('change the address: a taken one, a malformed one and a wrong password are refused at their fields; the new one is confirmed from its link; then removed', async (t) => {
  const mail = await smtpSink(t)
  const web = await serve(t, { SMTP_URL: mail.url })
  await verifiedAccount(web.app, mail, 'quinn', 'quinn@example.com')
  assert.equal((await registerWithEmail(web.app, 'rosa', 'rosa@example.com')).statusCode, 201)
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'quinn')
    const part = section(page, 'Email address')
    assert.equal(await part.locator('[data-field="email-state"]').innerText(), 'confirmed')
    await part.getByText('Change or remove the address').click()
    const change = part.getByRole('group', { name: 'A new address, confirmed with your password' })
    const email = change.getByLabel('Email address', { exact: true })
    const password = change.getByLabel('Password', { exact: true })
    const submit = part.getByRole('button', { name: 'Change address' })

    await email.fill('rosa@example.com')
    await password.fill(PASSWORD)
    await submit.click()
    assert.equal(
      await fieldError(email),
      'This email address is already in use by another account.',
    )
    await email.fill('quinn at example.com')
    await submit.click()
    assert.equal(await fieldError(email), 'Enter an address like name@example.com, with one @.')
    await email.fill('quinn@new.example')
    await password.fill('not my password at all')
    await submit.click()
    assert.equal(await fieldError(password), 'The password is wrong.')
    await password.fill(PASSWORD)
    await submit.click()
    await status(
      page,
      'The address is now quinn@new.example. A code to confirm it was mailed to it.',
    )
    assert.equal(await part.locator('[data-field="email"]').innerText(), 'quinn@new.example')
    assert.equal(await part.locator('[data-field="email-state"]').innerText(), 'not confirmed yet')

    // The mail's link, opened in this browser: the session comes back from the cookie, and the
    // code waits in the form.
    const confirm = await mail.next('quinn@new.example')
    const requests = recordRequests(tab)
    await followLink(tab, confirm)
    await heading(page, 'Confirm your email address').waitFor()
    const code = page.getByLabel('Code from the mail', { exact: true })
    assert.equal(await code.inputValue(), codeIn(confirm))
    await settled(page)
    assert.equal(requests.count('POST', '/user/me/email/verify'), 0, 'nothing sent by itself')
    await screenshot(page, 'verify-email')
    await page.getByRole('button', { name: 'Confirm address' }).click()
    await heading(page, 'Your account').waitFor()
    await status(page, 'The address quinn@new.example is confirmed.')
    assert.equal(
      await section(page, 'Email address').locator('[data-field="email-state"]').innerText(),
      'confirmed',
    )

    await section(page, 'Email address').getByText('Change or remove the address').click()
    const remove = section(page, 'Email address').getByRole('group', {
      name: 'Remove the address, confirmed with your password',
    })
    await remove.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await section(page, 'Email address').getByRole('button', { name: 'Remove address' }).click()
    await status(page, 'The email address was removed from your account.')
    await section(page, 'Email address').getByText('Your account has no email address.').waitFor()
  })
})
