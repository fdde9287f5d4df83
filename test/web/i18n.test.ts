import assert from 'node:assert/strict'
import { test } from 'node:test'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { fieldError, heading, openApp, reload, status } from '../support/page.ts'
import { PASSWORD, register } from '../support/requests.ts'

const browser = useBrowser()

test('a Russian browser gets the pages in Russian', async (t) => {
  const web = await serve(t)
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await openApp(tab)
      await heading(page, 'Вход').waitFor()
      assert.equal(await page.locator('html').getAttribute('lang'), 'ru')
      assert.equal(await page.getByLabel('Язык').inputValue(), 'ru')
      await page.getByLabel('Логин', { exact: true }).waitFor()
      await page.getByLabel('Пароль', { exact: true }).waitFor()
      await page.getByRole('button', { name: 'Войти', exact: true }).waitFor()
      assert.equal(await page.title(), 'Вход – usersvc')
      await screenshot(page, 'signin-ru')
    },
    { locale: 'ru-RU' },
  )
})

test('the language switch: Russian labels and messages at once, kept over a reload, and back', async (t) => {
  const web = await serve(t)
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await openApp(tab, '#/signup')
    await heading(page, 'Create an account').waitFor()
    // An error on the page before the switch is translated along with everything else.
    await page.getByLabel('Login', { exact: true }).fill('anna')
    await page.getByLabel('Password', { exact: true }).fill('kq7$vz')
    await page.getByRole('button', { name: 'Create account' }).click()
    assert.equal(
      await fieldError(page.getByLabel('Password', { exact: true })),
      'Too short: use at least 15 characters.',
    )

    await page.getByLabel('Language').selectOption('ru')
    await heading(page, 'Регистрация').waitFor()
    assert.equal(await page.locator('html').getAttribute('lang'), 'ru')
    const password = page.getByLabel('Пароль', { exact: true })
    assert.equal(await fieldError(password), 'Слишком короткий: нужно хотя бы 15 символов.')
    assert.equal(await password.inputValue(), 'kq7$vz', 'what was typed stays')
    await page.getByText('не короче 15 символов').waitFor()
    await page.getByRole('button', { name: 'Зарегистрироваться' }).waitFor()
    await page.getByRole('link', { name: 'Вход' }).waitFor()
    assert.equal(await page.title(), 'Регистрация – usersvc')
    assert.match(await page.locator('.strength').innerText(), /лишь грубая оценка/)
    await screenshot(page, 'signup-errors-ru')

    await reload(tab)
    await heading(page, 'Регистрация').waitFor()
    assert.equal(await page.getByLabel('Язык').inputValue(), 'ru')

    await page.getByLabel('Язык').selectOption('en')
    await heading(page, 'Create an account').waitFor()
    await reload(tab)
    await heading(page, 'Create an account').waitFor()
    assert.equal(await page.locator('html').getAttribute('lang'), 'en')
  })
})

test('in Russian: refusals from the service, the account page and its date', async (t) => {
  const web = await serve(t)
  assert.equal((await register(web.app, 'boris')).statusCode, 201)
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await openApp(tab, '#/signup')
      await page.getByLabel('Логин', { exact: true }).fill('Boris')
      await page.getByLabel('Пароль', { exact: true }).fill(PASSWORD)
      await page.getByRole('button', { name: 'Зарегистрироваться' }).click()
      assert.equal(
        await fieldError(page.getByLabel('Логин', { exact: true })),
        'Этот логин уже занят. Выберите другой.',
      )

      await page.getByRole('link', { name: 'Войдите' }).click()
      await heading(page, 'Вход').waitFor()
      await page.getByLabel('Логин', { exact: true }).fill('boris')
      await page.getByLabel('Пароль', { exact: true }).fill('неверный пароль, совсем')
      await page.getByRole('button', { name: 'Войти', exact: true }).click()
      assert.equal(
        await fieldError(page.getByLabel('Пароль', { exact: true })),
        'Неверный логин или пароль.',
      )
      await page.getByLabel('Пароль', { exact: true }).fill(PASSWORD)
      await page.getByRole('button', { name: 'Войти', exact: true }).click()
      await heading(page, 'Ваша учётная запись').waitFor()
      assert.equal(await status(page, /Вы вошли/), 'Вы вошли как boris.')
      assert.equal(await page.locator('[data-field="role"]').innerText(), 'пользователь')
      const date = await page.locator('[data-field="registered"]').innerText()
      assert.match(date, /[а-я]/, `a Russian date: ${date}`)
      await page.getByRole('button', { name: 'Выйти', exact: true }).waitFor()
      await page.getByRole('button', { name: 'Выйти на всех устройствах' }).waitFor()
      await page.getByRole('button', { name: 'Удалить мою учётную запись' }).waitFor()
      await screenshot(page, 'account-ru')
    },
    { locale: 'ru' },
  )
})
