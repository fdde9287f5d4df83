// What administrators do to other accounts on the page: disable (asked first, with a note) and
// enable, see a user's events (with the reasons users are not told), sign a user out everywhere;
// checked against what the API then says.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import type { App } from '../../src/app.ts'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { assertFocused, heading, openApp, signInUi, status } from '../support/page.ts'
import {
  bearer,
  login,
  PASSWORD,
  refresh,
  register,
  session,
  signUpAdmin,
} from '../support/requests.ts'

const browser = useBrowser()

/** An element's rendered text (this program is type-checked without the DOM library). */
type Rendered = { innerText: string }

/** The events the page shows: id and first line of each, in order. */
function shown(page: Page) {
  return page.locator('ol.events > li').evaluateAll((items) =>
    items.map((li) => ({
      id: li.getAttribute('data-event') ?? '',
      what: ((li.querySelector('.event-what') as Rendered | null)?.innerText ?? '')
        .replace(/\s+/g, ' ')
        .trim(),
      note: (li.querySelector('.event-note') as Rendered | null)?.innerText.trim() ?? null,
    })),
  )
}

/** A user's events, newest first, as the audit trail gives them to an admin. */
async function audit(app: App, token: string, userId: string) {
  const res = await app.inject({
    method: 'GET',
    url: `/audit/?user_id=${userId}&limit=100`,
    headers: bearer(token),
  })
  assert.equal(res.statusCode, 200)
  return (res.json() as { items: Array<{ id: string; type: string }> }).items
}

async function disabledAt(app: App, token: string, id: string): Promise<string | null> {
  const res = await app.inject({ method: 'GET', url: `/user/${id}`, headers: bearer(token) })
  assert.equal(res.statusCode, 200)
  return (res.json() as { disabled_at: string | null }).disabled_at
}

/** Page code as text: this program is type-checked without the DOM library. */
const SIDEWAYS = `document.documentElement.scrollWidth - document.documentElement.clientWidth`

test('an admin disables a user (asked first, with a note), sees its events and enables it again', async (t) => {
  const web = await serve(t)
  const { app } = web
  const root = await signUpAdmin(app, 'root')
  const anna = (await register(app, 'anna')).json() as { id: string }
  assert.equal((await login(app, 'anna', 'a wrong password for sure')).statusCode, 401)
  const before = await session(app, 'anna')

  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'root')
    await page.getByRole('link', { name: 'Users' }).click()
    const row = page.locator('tr[data-user="anna"]')
    await row.waitFor()
    // Not on the admin's own row: the service refuses it there.
    const own = page.locator('tr[data-user="root"]')
    assert.equal(await own.getByRole('button').count(), 0)
    assert.equal(await row.locator('[data-field="disabled"]').count(), 0, 'not disabled yet')

    // Asked first; Cancel changes nothing and gives the focus back.
    await page.getByRole('button', { name: 'Disable anna' }).click()
    const question = page.locator('tr[data-question="anna"]')
    await question
      .getByText(
        'Disable anna? Every session of the account ends at once, and it cannot sign in until it is enabled again.',
      )
      .waitFor()
    await assertFocused(question.getByLabel('Note (optional, kept in the audit trail only)'))
    await question.getByRole('button', { name: 'Cancel' }).click()
    await question.waitFor({ state: 'detached' })
    await assertFocused(page.getByRole('button', { name: 'Disable anna' }))
    assert.equal(await disabledAt(app, root.access_token, anna.id), null)

    await page.getByRole('button', { name: 'Disable anna' }).click()
    await question
      .getByLabel('Note (optional, kept in the audit trail only)')
      .fill('phishing report')
    await question.getByRole('button', { name: 'Yes, disable anna' }).click()
    assert.equal(
      await status(page, /disabled/),
      'anna is disabled: every session of the account has ended.',
    )
    await page.locator('tr[data-user="anna"][data-disabled="true"]').waitFor()
    assert.equal(await row.locator('[data-field="disabled"]').innerText(), 'disabled')
    await assertFocused(page.getByRole('button', { name: 'Enable anna' }))
    // What the API now says: disabled, its session ended, its sign-in refused.
    const disabledOn = await disabledAt(app, root.access_token, anna.id)
    assert.ok(disabledOn)
    assert.equal((await refresh(app, before.refresh_token)).statusCode, 401)
    const refused = await login(app, 'anna')
    assert.equal(refused.statusCode, 403)
    assert.equal(refused.json().code, 'account_disabled')
    await screenshot(page, 'users-with-disabled')

    // Its events, as an admin sees them.
    await page.getByRole('link', { name: 'Events of anna' }).click()
    await heading(page, 'User events').waitFor()
    assert.equal(await page.title(), 'User events – usersvc')
    await page.getByRole('heading', { level: 2, name: 'anna' }).waitFor()
    // The day in the page's words (Chromium runs in this process's time zone).
    const day = new Intl.DateTimeFormat('en-US', { dateStyle: 'long' }).format(new Date(disabledOn))
    assert.match(
      await page.locator('[data-field="state"]').innerText(),
      new RegExp(`^disabled ${day} at \\d+:\\d\\d [AP]M$`),
    )
    const trail = await audit(app, root.access_token, anna.id)
    await page.locator(`ol.events > li[data-event="${trail[0]?.id}"]`).waitFor()
    const items = await shown(page)
    assert.deepEqual(
      items.map((item) => item.id),
      trail.map((event) => event.id),
      'the trail’s events, in its order',
    )
    assert.deepEqual(
      items.map((item) => item.what),
      [
        'Failed sign-in: the account is disabled',
        'Account disabled by an administrator',
        'Signed out: the account was disabled by an administrator',
        'Signed in with a password',
        'Failed sign-in: wrong password',
        'Account created',
      ],
    )
    assert.equal(items[1]?.note, 'Note: phishing report', 'the admin’s note, for admins')
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 })
      assert.equal(await page.evaluate(SIDEWAYS), 0, `${width} px`)
      await screenshot(page, `user-events-en-${width}`)
    }
    await page.setViewportSize({ width: 1000, height: 800 })

    // Enabled again from its page: the state, the focus and the events follow.
    await page.getByRole('button', { name: 'Enable anna' }).click()
    assert.equal(await status(page, /enabled/), 'anna is enabled again and can sign in.')
    await assertFocused(page.getByRole('button', { name: 'Disable anna' }))
    assert.equal(await page.locator('[data-field="state"]').innerText(), 'active')
    await page.locator('ol.events > li[data-type="user.enabled"]').waitFor()
    assert.equal(await disabledAt(app, root.access_token, anna.id), null)

    // In Russian.
    await page.getByLabel('Language').selectOption('ru')
    await heading(page, 'События пользователя').waitFor()
    const russian = (await shown(page)).map((item) => item.what)
    assert.equal(russian[0], 'Учётная запись снова включена действие администратора')
    assert.ok(russian.includes('Неудачный вход: неверный пароль'))
    assert.ok(russian.includes('Неудачный вход: учётная запись отключена'))
    assert.equal(await page.locator('[data-field="state"]').innerText(), 'активна')
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 })
      assert.equal(await page.evaluate(SIDEWAYS), 0, `${width} px in Russian`)
      await screenshot(page, `user-events-ru-${width}`)
    }

    await page.getByRole('link', { name: 'Назад к пользователям' }).click()
    await page.locator('tr[data-user="anna"]').waitFor()
    assert.equal(await page.locator('tr[data-user="anna"][data-disabled]').count(), 0)
  })
  assert.equal((await login(app, 'anna')).statusCode, 200, 'anna signs in again')
})

test('an admin signs a user out everywhere from its page: its sessions end, and its events say so', async (t) => {
  const web = await serve(t)
  const { app } = web
  await signUpAdmin(app, 'root')
  const anna = (await register(app, 'anna')).json() as { id: string }
  const phone = await session(app, 'anna')
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'root')
    await openApp(tab, `#/user-events?id=${anna.id}`)
    await page.locator('ol.events > li[data-type="session.created"]').waitFor()
    await page.getByRole('button', { name: 'Sign out everywhere: anna' }).click()
    assert.equal(await status(page, /signed out/), 'anna was signed out on every device.')
    assert.equal((await refresh(app, phone.refresh_token)).statusCode, 401)
    const ended = page.locator('ol.events > li').first()
    await ended.and(page.locator('[data-type="session.ended"]')).waitFor()
    assert.equal((await shown(page))[0]?.what, 'Signed out on every device by an administrator')
  })
})

test('a disable refused because the user was deleted meanwhile: "not found" is said, and the list is reloaded', async (t) => {
  const web = await serve(t)
  const root = await signUpAdmin(web.app, 'root')
  const gone = (await register(web.app, 'gone')).json() as { id: string }
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'root')
    await openApp(tab, '#/users')
    await page.locator('tr[data-user="gone"]').waitFor()
    const res = await web.app.inject({
      method: 'DELETE',
      url: `/user/${gone.id}`,
      headers: bearer(root.access_token),
    })
    assert.equal(res.statusCode, 204)
    await page.getByRole('button', { name: 'Disable gone' }).click()
    await page.getByRole('button', { name: 'Yes, disable gone' }).click()
    await page.getByRole('alert').filter({ hasText: 'it may have been deleted already' }).waitFor()
    await page.locator('tr[data-user="gone"]').waitFor({ state: 'detached' })
  })
})

test('the admin’s own page: its events, but no Disable or Sign out everywhere', async (t) => {
  const web = await serve(t)
  const root = await signUpAdmin(web.app, 'root')
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'root')
    await openApp(tab, '#/users')
    await page.getByRole('link', { name: 'Events of root' }).click()
    await heading(page, 'User events').waitFor()
    await page.getByRole('heading', { level: 2, name: 'root' }).waitFor()
    await page.locator('ol.events > li').first().waitFor()
    assert.equal(await page.locator('main').getByRole('button').count(), 0)
    // The nav says which part of the page this is.
    const users = page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Users' })
    assert.equal(await users.getAttribute('aria-current'), 'true')
  })
  assert.equal((await login(web.app, 'root')).statusCode, 200)
  assert.ok(root)
})

test('a user who is not an admin gets no user’s events: no link, and the address says so', async (t) => {
  const web = await serve(t)
  const other = (await register(web.app, 'other')).json() as { id: string }
  await register(web.app, 'plain')
  const opened = await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'plain', PASSWORD)
    assert.equal(await page.getByRole('link', { name: 'Webhooks' }).count(), 0)
    await openApp(tab, `#/user-events?id=${other.id}`)
    await heading(page, 'User events').waitFor()
    await page.getByText('Only administrators can see the list of users.').waitFor()
  })
  assert.equal(
    opened.requests.filter((url) => new URL(url).pathname.startsWith('/audit/')).length,
    0,
    'the page did not ask for the trail',
  )
})
