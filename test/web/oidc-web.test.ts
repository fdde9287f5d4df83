// The web page's side of "Sign in with usersvc": the applications a user allowed (on the account
// page, in both languages, at phone and desktop widths), taking that back, and the page an
// expired or unknown sign-in request shows.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Locator, Page } from 'playwright-core'
import type { App } from '../../src/app.ts'
import { inTab, SCREENSHOTS, screenshot, serve, type Tab, useBrowser } from '../support/browser.ts'
import { assertFocused, assertText, heading, signInUi, status } from '../support/page.ts'
import { register } from '../support/requests.ts'

const browser = useBrowser()

const PHONE = { width: 390, height: 844 }
const DESKTOP = { width: 1280, height: 900 }

/** A registered client, as the CLI would add it (only what the page shows matters here). */
async function addClient(app: App, clientId: string, name: string) {
  const at = new Date().toISOString()
  await app.store.db
    .insertInto('oauth_clients')
    .values({
      client_id: clientId,
      name,
      metadata: JSON.stringify({ client_id: clientId, client_name: name, redirect_uris: [] }),
      secret_hash: null,
      first_party: 0,
      created_at: at,
      updated_at: at,
    })
    .execute()
}

/** What `userId` allowed `clientId`, as the consent screen records it. */
async function addConsent(
  app: App,
  userId: string,
  clientId: string,
  scopes: string,
  granted: string,
  updated = granted,
) {
  await app.store.db
    .insertInto('oauth_consents')
    .values({
      user_id: userId,
      client_id: clientId,
      scopes,
      granted_at: new Date(granted).toISOString(),
      updated_at: new Date(updated).toISOString(),
    })
    .execute()
}

async function consentsOf(app: App, userId: string) {
  const rows = await app.store.db
    .selectFrom('oauth_consents')
    .select('client_id')
    .where('user_id', '=', userId)
    .execute()
  return rows.map((row) => row.client_id).sort()
}

/** A user with two applications allowed: the wiki with everything, the tracker with less. */
async function seeded(app: App, login: string) {
  const response = await register(app, login)
  assert.equal(response.statusCode, 201)
  const userId = (response.json() as { id: string }).id
  await addClient(app, 'team-wiki', 'Team Wiki')
  await addClient(app, 'bug-tracker', 'Bug Tracker')
  await addConsent(
    app,
    userId,
    'team-wiki',
    'openid profile email offline_access',
    '2026-03-02T09:30:00Z',
  )
  await addConsent(
    app,
    userId,
    'bug-tracker',
    'openid email',
    '2026-01-15T14:00:00Z',
    '2026-02-20T08:15:00Z',
  )
  return userId
}

function apps(page: Page, name = 'Connected applications') {
  return page.getByRole('region', { name, exact: true })
}

/** The entry of one application in the list. */
function app(card: Locator, name: string) {
  return card.getByRole('listitem').filter({ has: card.page().getByRole('heading', { name }) })
}

test('connected applications: each with what it may see and since when; removing access asks first, and one already gone says so', async (t) => {
  const web = await serve(t)
  const userId = await seeded(web.app, 'nora')
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'nora')
    const card = apps(page)
    await assertText(card, /You allowed 2 applications\./)
    const items = card.getByRole('listitem').filter({ has: page.getByRole('heading') })
    assert.equal(await items.count(), 2)
    // The most recently allowed first, each scope in plain words.
    await assertText(items.nth(0).getByRole('heading'), /^Team Wiki$/)
    await assertText(items.nth(1).getByRole('heading'), /^Bug Tracker$/)
    const wiki = app(card, 'Team Wiki')
    await assertText(wiki, /Know who you are \(your account id\)/)
    await assertText(wiki, /Your login name/)
    await assertText(wiki, /Your email address and whether it is verified/)
    await assertText(wiki, /Stay connected when you are not using it/)
    await assertText(wiki, /Allowed\s+March 2, 2026 at 9:30 AM/)
    assert.doesNotMatch(await wiki.innerText(), /Last changed/, 'never changed: no second date')
    const tracker = app(card, 'Bug Tracker')
    await assertText(tracker, /Allowed\s+January 15, 2026 at 2:00 PM/)
    await assertText(tracker, /Last changed\s+February 20, 2026 at 8:15 AM/)
    assert.doesNotMatch(await tracker.innerText(), /login name|Stay connected/)

    // Asked first; "Cancel" keeps it.
    await wiki.getByRole('button', { name: 'Remove access for Team Wiki' }).click()
    await assertText(wiki, /Remove access for Team Wiki\? It is signed out at once/)
    await assertFocused(wiki.getByRole('button', { name: 'Cancel' }))
    await wiki.getByRole('button', { name: 'Cancel' }).click()
    await assertFocused(wiki.getByRole('button', { name: 'Remove access for Team Wiki' }))
    assert.deepEqual(await consentsOf(web.app, userId), ['bug-tracker', 'team-wiki'])

    await wiki.getByRole('button', { name: 'Remove access for Team Wiki' }).click()
    await wiki.getByRole('button', { name: 'Yes, remove access for Team Wiki' }).click()
    await status(page, 'Team Wiki no longer has access to your account.')
    await assertText(card, /You allowed 1 application\./)
    assert.equal(await items.count(), 1)
    await assertFocused(card.getByRole('heading', { name: 'Connected applications' }))
    assert.deepEqual(await consentsOf(web.app, userId), ['bug-tracker'])

    // Gone meanwhile (another tab, another device): said so, and the list follows.
    await web.app.store.db.deleteFrom('oauth_consents').where('user_id', '=', userId).execute()
    await tracker.getByRole('button', { name: 'Remove access for Bug Tracker' }).click()
    await card.getByRole('button', { name: 'Yes, remove access for Bug Tracker' }).click()
    await status(page, 'Bug Tracker had no access any more.')
    await assertText(card, /You have not allowed any application to use your account\./)
    assert.equal(await card.getByRole('list').count(), 0, 'no empty list is shown')
  })
})

/**
 * Nothing went wrong on the tab's pages but the 404s a test asked for (of the provider's
 * interaction, which the browser support counts as a failed page asset).
 */
function noProblemsBut(tab: Tab, expected: RegExp[]) {
  const unexpected = tab.problems.filter(
    (problem) =>
      !(
        /(Failed to load resource: the server responded with a status of 404|HTTP 404$)/.test(
          problem,
        ) && expected.some((pattern) => pattern.test(problem))
      ),
  )
  assert.deepEqual(unexpected, [], 'no other console errors, page errors or CSP violations')
}

for (const [size, viewport] of Object.entries({ phone: PHONE, desktop: DESKTOP })) {
  test(`connected applications in English and Russian (${size}): finished-looking, nothing wider than the page`, async (t) => {
    const web = await serve(t)
    await seeded(web.app, 'olga')
    await inTab(
      browser(),
      web,
      async (tab) => {
        const { page } = tab
        await signInUi(tab, 'olga')
        const card = apps(page)
        await assertText(card, /You allowed 2 applications\./)
        await card.getByRole('button', { name: 'Remove access for Bug Tracker' }).click()
        await card.getByRole('button', { name: 'Yes, remove access for Bug Tracker' }).waitFor()
        await card.scrollIntoViewIfNeeded()
        await noOverflow(page)
        await shoot(page, card, `oidc-apps-en-${viewport.width}`)

        await page.getByLabel('Language').selectOption('ru')
        const ru = apps(page, 'Подключённые приложения')
        await assertText(ru, /Доступ разрешён 2 приложениям\./)
        await assertText(ru, /Знать, кто вы \(идентификатор учётной записи\)/)
        await assertText(ru, /Отозвать доступ у «Bug Tracker»\?/)
        await ru.getByRole('button', { name: 'Да, отозвать доступ у «Bug Tracker»' }).waitFor()
        await noOverflow(page)
        await shoot(page, ru, `oidc-apps-ru-${viewport.width}`)
      },
      { viewport },
    )
  })
}

/** No element sticks out to the right of the page (a phone would scroll sideways). */
async function noOverflow(page: Page) {
  const wide = await page.evaluate(`(() => {
    const width = document.documentElement.clientWidth
    return [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > width + 1)
      .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''))
  })()`)
  assert.deepEqual(wide, [], 'nothing wider than the page')
}

/** The whole page, and the part in question alone (easier to look at). */
async function shoot(page: Page, part: Locator, name: string) {
  await screenshot(page, name)
  await part.screenshot({ path: join(SCREENSHOTS, `${name}-part.png`) })
}

test('an expired or unknown sign-in request: a clear page with no form, in English and Russian, on a phone and a desktop', async (t) => {
  const web = await serve(t)
  for (const [locale, lang] of [
    ['en-US', 'en'],
    ['ru-RU', 'ru'],
  ] as const) {
    for (const viewport of [PHONE, DESKTOP]) {
      const tab = await inTab(
        browser(),
        web,
        async (tab) => {
          const { page } = tab
          await page.goto(`${web.origin}/oauth2/interaction/no-such-request`)
          await page.locator('body[data-ready="true"]').waitFor({ state: 'attached' })
          if (lang === 'en') {
            await heading(page, 'This sign-in request has expired or is not valid').waitFor()
            await page.getByText('Go back to the application and start again.').waitFor()
            await page.getByRole('link', { name: 'Go to your usersvc account' }).waitFor()
            assert.equal(await page.title(), 'Sign-in request expired – usersvc')
          } else {
            await heading(page, 'Запрос на вход устарел или недействителен').waitFor()
            await page.getByText('Вернитесь в приложение и начните заново.').waitFor()
            assert.equal(await page.title(), 'Запрос на вход устарел – usersvc')
          }
          assert.equal(await page.locator('form, input, nav:visible').count(), 0, 'no form')
          await noOverflow(page)
          await screenshot(page, `oidc-expired-${lang}-${viewport.width}`)
        },
        { locale, viewport, ownChecks: true },
      )
      noProblemsBut(tab, [/\/oauth2\/interaction\/no-such-request\/details/])
    }
  }
})
