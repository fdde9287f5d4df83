import assert from 'node:assert/strict'
import { test } from 'node:test'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { fieldError, heading, openApp, reload, status } from '../support/page.ts'
import { codesOf } from '../support/recovery-codes.ts'
import { login, PASSWORD, register } from '../support/requests.ts'
import { activeTotp, totpCode } from '../support/totp.ts'

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

test('in Russian: the second step, its refusals, and the security page', async (t) => {
  const web = await serve(t)
  await register(web.app, 'vera')
  const now = () => web.clock.now().getTime()
  const token = (await login(web.app, 'vera')).json().access_token as string
  await codesOf(web.app, token)
  const { secret } = await activeTotp(web.app, token, 'Телефон')
  web.clock.advance(30)
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await openApp(tab)
      await heading(page, 'Вход').waitFor()
      await page.getByRole('button', { name: 'Войти с ключом доступа' }).waitFor()
      await screenshot(page, 'signin-passkey-ru')
      await page.getByLabel('Логин', { exact: true }).fill('vera')
      await page.getByLabel('Пароль', { exact: true }).fill(PASSWORD)
      await page.getByRole('button', { name: 'Войти', exact: true }).click()
      await page.getByText('Второй шаг: подтвердите, что это вы').waitFor()
      await status(page, 'Пароль верен. Теперь второй шаг: подтвердите вход вторым фактором.')
      const code = page.getByLabel('Код из приложения-аутентификатора', { exact: true })
      await page.getByRole('button', { name: 'Подтвердить' }).click()
      assert.equal(await fieldError(code), 'Введите 6-значный код, который показывает приложение.')
      await code.fill(totpCode(secret, now() - 10 * 60_000))
      await page.getByRole('button', { name: 'Подтвердить' }).click()
      assert.equal(
        await fieldError(code),
        'Код неверен или уже использован. Введите код, который приложение показывает сейчас.',
      )
      await screenshot(page, 'second-step-ru')
      await page.getByRole('button', { name: 'Использовать код восстановления' }).click()
      await page.getByLabel('Сохранённый код восстановления', { exact: true }).waitFor()
      await page.getByRole('button', { name: 'Использовать код из приложения' }).click()
      await code.fill(totpCode(secret, now()))
      await page.getByRole('button', { name: 'Подтвердить' }).click()
      await heading(page, 'Ваша учётная запись').waitFor()
      await page.getByText('Двухэтапный вход включён').waitFor()

      await page.getByRole('link', { name: 'Безопасность' }).click()
      await heading(page, 'Вход и безопасность').waitFor()
      const factor = page.getByRole('region', { name: 'Ваши вторые факторы' }).getByRole('listitem')
      assert.match(await factor.innerText(), /Телефон\s+Приложение-аутентификатор/)
      assert.match(await factor.innerText(), /Добавлен\s+\d+ [а-я]+ \d{4}/)
      await page.getByText('У вас 10 сохранённых кодов восстановления').waitFor()
      const devices = page.getByRole('region', { name: 'Где выполнен вход' })
      // This browser, and the API's login above.
      await devices.getByText('Вход выполнен на 2 устройствах.').waitFor()
      assert.match(
        await devices.getByRole('listitem').filter({ hasText: 'Это устройство' }).innerText(),
        /Chrome, Linux\s+Это устройство[\s\S]+Способ входа\s+со вторым фактором/,
      )
      assert.equal(
        await devices.getByRole('button', { name: 'Выйти на этом устройстве' }).count(),
        2,
      )
      await page.getByRole('button', { name: 'Удалить «Телефон»' }).waitFor()
      await page.getByRole('button', { name: 'Подключить приложение' }).waitFor()
      await page.getByRole('button', { name: 'Добавить ключ доступа' }).waitFor()
      await screenshot(page, 'security-ru')
    },
    { locale: 'ru' },
  )
})
