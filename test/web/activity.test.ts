// The Activity view: one's own security events in plain words (English and Russian), newest
// first, with the time in the page's language, the address and the device; "Show more"; the empty
// state; and a disabled account's refusal on the sign-in form.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import type { App } from '../../src/app.ts'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { assertFocused, fillSignIn, heading, openApp, reload, signInUi } from '../support/page.ts'
import { bearer, login, PASSWORD, register, session, signUpAdmin } from '../support/requests.ts'

const browser = useBrowser()

const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'

interface ApiEvent {
  id: string
  type: string
  occurred_at: string
  address: string | null
  data: Record<string, unknown>
}

/** Every event of the account, newest first, as the API gives them to its holder. */
async function activity(app: App, token: string): Promise<ApiEvent[]> {
  const all: ApiEvent[] = []
  let cursor: string | null = null
  do {
    const query: string = `limit=100${cursor ? `&cursor=${cursor}` : ''}`
    const res = await app.inject({
      method: 'GET',
      url: `/user/me/activity?${query}`,
      headers: bearer(token),
    })
    assert.equal(res.statusCode, 200)
    const page = res.json() as { items: ApiEvent[]; next_cursor: string | null }
    all.push(...page.items)
    cursor = page.next_cursor
  } while (cursor)
  return all
}

/** An element's rendered text (this program is type-checked without the DOM library). */
type Rendered = { innerText: string }

/** The events the page shows: id, type and text of each, in order. */
async function shown(page: Page) {
  return page.locator('ol.events > li').evaluateAll((items) =>
    items.map((li) => ({
      id: li.getAttribute('data-event') ?? '',
      type: li.getAttribute('data-type') ?? '',
      what: (li.querySelector('.event-what') as Rendered | null)?.innerText.trim() ?? '',
      // One line, its parts named (for screen readers) and apart (by dots, for the eye).
      meta: ((li.querySelector('.event-meta') as Rendered | null)?.innerText ?? '')
        .replace(/\s+/g, ' ')
        .trim(),
    })),
  )
}

/** A sign-in from another device and address (as the service sees it). */
function loginFromPhone(app: App, loginName: string) {
  return app.inject({
    method: 'POST',
    url: '/session/',
    payload: { login: loginName, password: PASSWORD },
    remoteAddress: '203.0.113.7',
    headers: { 'user-agent': IPHONE },
  })
}

const format = (locale: string, iso: string) =>
  new Intl.DateTimeFormat(locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'UTC',
  }).format(new Date(iso))

test('Activity: the account’s events in plain words, newest first, with time, address and device, in English and Russian', async (t) => {
  const web = await serve(t)
  const { app } = web
  const registered = await register(app, 'anna')
  assert.equal(registered.statusCode, 201)
  const anna = (registered.json() as { id: string }).id
  assert.equal((await login(app, 'anna', 'not the password at all')).statusCode, 401)
  assert.equal((await loginFromPhone(app, 'anna')).statusCode, 200)
  const admin = await signUpAdmin(app, 'root')
  for (const action of ['disable', 'enable']) {
    const res = await app.inject({
      method: 'POST',
      url: `/user/${anna}/${action}`,
      headers: bearer(admin.access_token),
      payload: action === 'disable' ? { reason: 'a note only admins read' } : {},
    })
    assert.equal(res.statusCode, 200, action)
  }

  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'anna')
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Activity' })
      .click()
    await heading(page, 'Account activity').waitFor()
    assert.equal(await page.title(), 'Account activity – usersvc')
    await page.locator('ol.events > li').first().waitFor()

    const token = (await session(app, 'anna')).access_token
    // That sign-in (and its event) came after the page loaded: the page shows those before it.
    const events = (await activity(app, token)).slice(1)
    const items = await shown(page)
    assert.deepEqual(
      items.map((item) => item.id),
      events.map((event) => event.id),
      'the page shows the API’s events, in its order (newest first)',
    )
    const byType = (type: string) => items.filter((item) => item.type === type)
    const whats = items.map((item) => item.what)
    assert.equal(whats[0], 'Signed in with a password', 'the sign-in through the form, first')
    assert.deepEqual(whats.slice(1).reverse(), [
      'Account created',
      'Failed sign-in attempt',
      'Signed in with a password',
      'Signed out: the account was disabled\nby an administrator',
      'Account disabled\nby an administrator',
      'Account enabled again\nby an administrator',
    ])
    // A user is not told why a sign-in failed, nor the administrator's note.
    assert.doesNotMatch(await page.locator('ol.events').innerText(), /wrong password|a note only/)

    // Time in the page's language and the browser's zone, the address, the device in short.
    const phone = events.find((event) => event.address === '203.0.113.7')
    assert.ok(phone)
    const phoneItem = items.find((item) => item.id === phone.id)
    // Each part is named for those who hear it (the eye sees dots between them).
    assert.equal(
      phoneItem?.meta,
      `When: ${format('en', phone.occurred_at)} Address: 203.0.113.7 Device: Safari on iOS`,
    )
    const mine = byType('session.created')[0]
    assert.match(mine?.meta ?? '', / Address: 127\.0\.0\.1 Device: Chrome on Linux$/)
    // "Show more" only when there is more.
    assert.equal(await page.getByRole('button', { name: 'Show more' }).isVisible(), false)
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 })
      assert.equal(await page.evaluate(SIDEWAYS), 0, `${width} px: no sideways scrolling`)
      await screenshot(page, `activity-en-${width}`)
    }

    await page.getByLabel('Language').selectOption('ru')
    await heading(page, 'Журнал учётной записи').waitFor()
    const russian = await shown(page)
    assert.deepEqual(
      russian
        .map((item) => item.what)
        .slice(1)
        .reverse(),
      [
        'Учётная запись создана',
        'Неудачная попытка входа',
        'Вход по паролю',
        'Выход: учётная запись отключена\nдействие администратора',
        'Учётная запись отключена\nдействие администратора',
        'Учётная запись снова включена\nдействие администратора',
      ],
    )
    assert.equal(
      russian.find((item) => item.id === phone.id)?.meta,
      `Когда: ${format('ru', phone.occurred_at)} Адрес: 203.0.113.7 Устройство: Safari, iOS`,
    )
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 })
      assert.equal(
        await page.evaluate(SIDEWAYS),
        0,
        `${width} px in Russian: no sideways scrolling`,
      )
      await screenshot(page, `activity-ru-${width}`)
    }
  })
})

/** Page code as text: this program is type-checked without the DOM library. */
const SIDEWAYS = `document.documentElement.scrollWidth - document.documentElement.clientWidth`

test('Activity pages with "Show more": the next events follow, the focus on the first of them, until there are no more', async (t) => {
  const web = await serve(t)
  assert.equal((await register(web.app, 'bob')).statusCode, 201)
  // 1 registration + 44 sign-ins + the form's = 46 events: three pages of 20.
  for (let i = 0; i < 44; i++) assert.equal((await login(web.app, 'bob')).statusCode, 200)
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'bob')
    await openApp(tab, '#/activity')
    const items = page.locator('ol.events > li')
    const more = page.getByRole('button', { name: 'Show more' })
    await more.waitFor()
    assert.equal(await items.count(), 20)
    await more.click()
    await items.nth(39).waitFor()
    await assertFocused(items.nth(20), 'the focus is on the first event that came')
    assert.equal(await more.isVisible(), true)
    await more.click()
    await items.nth(45).waitFor()
    await assertFocused(items.nth(40))
    await more.waitFor({ state: 'hidden' })
    const ids = (await shown(page)).map((item) => item.id)
    assert.equal(new Set(ids).size, 46, 'no event twice')
    const token = (await session(web.app, 'bob')).access_token
    assert.deepEqual(
      ids,
      (await activity(web.app, token)).slice(1).map((event) => event.id),
    )
    assert.equal(await page.locator('ol.events > li[data-type="user.registered"]').count(), 1)
  })
})

test('Activity with no events: the empty state says so', async (t) => {
  const web = await serve(t)
  assert.equal((await register(web.app, 'carol')).statusCode, 201)
  await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await openApp(tab, '#/signin')
      await page.locator('input[name="login"]').fill('carol')
      await page.locator('input[name="password"]').fill(PASSWORD)
      await page.locator('button[type="submit"]').click()
      await heading(page, 'Ваша учётная запись').waitFor()
      // The trail's retention removed everything (events older than the retention go).
      await web.app.store.db.deleteFrom('events').execute()
      await openApp(tab, '#/activity')
      await heading(page, 'Журнал учётной записи').waitFor()
      await page.getByText('Событий пока нет.').waitFor()
      assert.equal(await page.locator('ol.events').isVisible(), false)
      assert.equal(await page.getByRole('button', { name: 'Показать ещё' }).count(), 0)
      await page.getByLabel('Язык').selectOption('en')
      await page.getByText('No events yet.').waitFor()
    },
    { locale: 'ru-RU' },
  )
})

test('Activity needs a session: signed out, the address leads to the sign-in form', async (t) => {
  const web = await serve(t)
  await inTab(browser(), web, async (tab) => {
    await openApp(tab, '#/activity')
    await heading(tab.page, 'Sign in').waitFor()
    assert.equal(await tab.page.getByRole('link', { name: 'Activity' }).count(), 0)
  })
})

for (const [language, locale, message, submit] of [
  ['English', 'en-US', 'This account has been disabled by an administrator.', 'Sign in'],
  ['Russian', 'ru-RU', 'Администратор отключил эту учётную запись.', 'Войти'],
] as const) {
  test(`in ${language}, signing in to a disabled account says so on the sign-in form`, async (t) => {
    const web = await serve(t)
    const admin = await signUpAdmin(web.app, 'root')
    const dave = (await register(web.app, 'dave')).json() as { id: string }
    const res = await web.app.inject({
      method: 'POST',
      url: `/user/${dave.id}/disable`,
      headers: bearer(admin.access_token),
      payload: {},
    })
    assert.equal(res.statusCode, 200)
    const opened = await inTab(
      browser(),
      web,
      async (tab) => {
        const { page } = tab
        await openApp(tab, '#/signin')
        await page.locator('input[name="login"]').fill('dave')
        await page.locator('input[name="password"]').fill(PASSWORD)
        await page.getByRole('button', { name: submit, exact: true }).click()
        const alert = page.locator('form').getByRole('alert').filter({ hasText: message })
        await alert.waitFor()
        // Not a wrong password: neither field is marked.
        assert.equal(await page.locator('[aria-invalid="true"]').count(), 0)
        await screenshot(page, `signin-disabled-${locale}`)
        await reload(tab)
        assert.equal(await page.locator('input[name="login"]').count(), 1, 'still signed out')
      },
      { locale },
    )
    assert.deepEqual(
      opened.refusals.map((line) => line.split(':')[0]),
      ['/session/'],
      'the one refusal is the sign-in’s',
    )
    // Enabled again, the same form signs in.
    await web.app.inject({
      method: 'POST',
      url: `/user/${dave.id}/enable`,
      headers: bearer(admin.access_token),
    })
    await inTab(browser(), web, async (tab) => {
      await openApp(tab, '#/signin')
      await fillSignIn(tab.page, 'dave', PASSWORD)
      await heading(tab.page, 'Your account').waitFor()
    })
  })
}
