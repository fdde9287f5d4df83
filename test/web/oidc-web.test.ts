// The web page's side of "Sign in with usersvc": the sign-in page as the provider's interaction
// (the form headed with the application's name, single sign-on, a fresh sign-in when asked), the
// consent screen, the applications a user allowed (on the account page) and taking that back, and
// the page an expired or unknown sign-in request shows: in both languages, at phone and desktop
// widths, with axe. (The protocol itself, through openid-client, is tested in test/oidc/.)
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import type { Locator, Page } from 'playwright-core'
import type { App } from '../../src/app.ts'
import { inTab, SCREENSHOTS, screenshot, serve, type Tab, useBrowser } from '../support/browser.ts'
import { ROOT } from '../support/harness.ts'
import {
  addClient as addOidcClient,
  authorization,
  relyingParty,
  serveProvider,
} from '../support/oidc.ts'
import {
  assertFocused,
  assertText,
  fillSignIn,
  heading,
  openApp,
  signInUi,
  status,
} from '../support/page.ts'
import { PASSWORD, register } from '../support/requests.ts'

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
 * Nothing went wrong on the tab's pages but the refusals a test asked for: 404s (the callback of
 * an application, an expired interaction) and 403s, which the browser support counts as failed
 * page assets (they are not under its API paths).
 */
function noProblemsBut(tab: Tab, notFound: RegExp[], forbidden: RegExp[] = []) {
  const refused = (problem: string, status: number, patterns: RegExp[]) =>
    new RegExp(`(a status of ${status} |HTTP ${status}$)`).test(problem) &&
    patterns.some((pattern) => pattern.test(problem))
  const unexpected = tab.problems.filter(
    (problem) => !refused(problem, 404, notFound) && !refused(problem, 403, forbidden),
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

/**
 * The provider on a port of its own (the issuer is its origin) with Team Wiki registered, whose
 * callback is a path of that origin (the page it lands on is a 404: only its address matters).
 */
async function withWiki(t: TestContext) {
  const provider = await serveProvider(t, 'sqlite')
  const callback = `${provider.origin}/wiki/callback`
  const client = await addOidcClient(provider, { name: 'Team Wiki', redirectUris: [callback] })
  const rp = await relyingParty(provider, client.clientId, client.clientSecret)
  return {
    provider,
    callback,
    /** An authorization request of Team Wiki (openid-client builds it: S256 PKCE, state, nonce). */
    ask: (params: Record<string, string> = {}) => authorization(rp, callback, params),
  }
}

/** The address the browser landed on, once it is the application's callback. */
async function landed(page: Page, callback: string): Promise<URL> {
  await page.waitForURL((url) => url.href.startsWith(`${callback}?`))
  return new URL(page.url())
}

const WIKI_ASKS = [
  'Know who you are (your account id)',
  'Your login name',
  'Your email address and whether it is verified',
  'Stay connected when you are not using it',
]

test('signing in for an application: the form names it, the consent says in plain words what it asks; Allow goes back with a code, next time nothing is asked, prompt=login asks for the password again', async (t) => {
  const { provider, callback, ask } = await withWiki(t)
  await register(provider.app, 'nora')
  const tab = await inTab(
    browser(),
    provider,
    async (tab) => {
      const { page } = tab
      const first = await ask({
        scope: 'openid profile email offline_access',
        prompt: 'consent',
        login_hint: 'nora',
      })
      await page.goto(first.url.href)
      await heading(page, 'Sign in to continue to Team Wiki').waitFor()
      assert.equal(await page.title(), 'Sign in – usersvc')
      assert.equal(await page.getByLabel('Login', { exact: true }).inputValue(), 'nora')
      assert.equal(await page.getByRole('navigation').count(), 0, 'nowhere else to go')
      await fillSignIn(page, 'nora', PASSWORD)

      await heading(page, 'Allow Team Wiki to use your account?').waitFor()
      assert.equal(await page.title(), 'Allow access – usersvc')
      await page.locator('#view').getByText('You are signed in as nora.').waitFor()
      const asks = page.getByRole('region', { name: 'What Team Wiki asks for' })
      assert.deepEqual(await asks.getByRole('listitem').allInnerTexts(), WIKI_ASKS)
      await page.getByRole('button', { name: 'Allow' }).click()
      const back = await landed(page, callback)
      assert.equal(back.searchParams.get('state'), first.state)
      assert.ok(back.searchParams.get('code'), 'a code for the application')

      // Signed in, and allowed: straight back, no form and no question.
      await page.goto((await ask({ scope: 'openid profile' })).url.href)
      assert.ok((await landed(page, callback)).searchParams.get('code'))

      // The application wants a sign-in made for it: the form, though a session is open.
      await page.goto((await ask({ prompt: 'login' })).url.href)
      await heading(page, 'Sign in to continue to Team Wiki').waitFor()
      await page.getByText('Team Wiki asks you to sign in again, to be sure it is you.').waitFor()
      assert.equal(await page.getByLabel('Login', { exact: true }).inputValue(), 'nora')
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
      await page.getByRole('button', { name: 'Sign in', exact: true }).click()
      assert.ok((await landed(page, callback)).searchParams.get('code'))
    },
    { ownChecks: true },
  )
  noProblemsBut(tab, [/\/wiki\/callback/])
})

test('Deny goes back with access_denied; a consent for another account than the one signed in says so and offers to sign in again', async (t) => {
  const { provider, callback, ask } = await withWiki(t)
  await register(provider.app, 'nora')
  await register(provider.app, 'otto')
  const tab = await inTab(
    browser(),
    provider,
    async (tab) => {
      const { page } = tab
      await page.goto((await ask({ scope: 'openid email' })).url.href)
      await fillSignIn(page, 'nora', PASSWORD)
      await heading(page, 'Allow Team Wiki to use your account?').waitFor()

      // Another tab signs out: the consent needs a session again.
      const other = await tab.context.newPage()
      await other.goto(`${provider.origin}/#/account`)
      await other.getByRole('button', { name: 'Log out', exact: true }).click()
      await heading(page, 'Sign in to continue to Team Wiki').waitFor()
      await status(page, 'Your session has ended. Please sign in again.')
      await other.close()

      // Signed in as another account than the one this sign-in is for.
      await fillSignIn(page, 'otto', PASSWORD)
      await page.locator('#view').getByText('You are signed in as otto.').waitFor()
      await page.getByRole('button', { name: 'Allow' }).click()
      const alert = page.getByRole('alert').filter({ hasText: 'another account than otto' })
      await assertText(alert, /Sign in with that account to go on/)
      assert.equal(await page.getByRole('button', { name: 'Allow' }).count(), 0)
      await alert.getByRole('button', { name: 'Sign in as another account' }).click()
      await heading(page, 'Sign in to continue to Team Wiki').waitFor()
      await fillSignIn(page, 'nora', PASSWORD)
      await page.locator('#view').getByText('You are signed in as nora.').waitFor()

      await page.getByRole('button', { name: 'Deny' }).click()
      const back = await landed(page, callback)
      assert.equal(back.searchParams.get('error'), 'access_denied')
      assert.equal(back.searchParams.get('code'), null)
    },
    { ownChecks: true },
  )
  noProblemsBut(tab, [/\/wiki\/callback/], [/\/oauth2\/interaction\/[^/ ]+\/consent/])
})

for (const [locale, lang] of [
  ['en-US', 'en'],
  ['ru-RU', 'ru'],
] as const) {
  test(`the sign-in for an application and its consent in ${lang === 'en' ? 'English' : 'Russian'}, on a phone and a desktop: finished-looking, nothing wider than the page`, async (t) => {
    const { provider, ask } = await withWiki(t)
    await register(provider.app, 'olga')
    const words =
      lang === 'en'
        ? {
            signIn: 'Sign in to continue to Team Wiki',
            login: 'Login',
            password: 'Password',
            submit: 'Sign in',
            consent: 'Allow Team Wiki to use your account?',
            asks: 'What Team Wiki asks for',
            first: 'Know who you are (your account id)',
          }
        : {
            signIn: 'Войдите, чтобы перейти в «Team Wiki»',
            login: 'Логин',
            password: 'Пароль',
            submit: 'Войти',
            consent: 'Разрешить «Team Wiki» доступ к вашей учётной записи?',
            asks: 'Что запрашивает «Team Wiki»',
            first: 'Знать, кто вы (идентификатор учётной записи)',
          }
    for (const viewport of [PHONE, DESKTOP]) {
      await inTab(
        browser(),
        provider,
        async (tab) => {
          const { page } = tab
          // offline_access is asked for with prompt=consent only (OIDC Core §11).
          const request = await ask({
            scope: 'openid profile email offline_access',
            prompt: 'consent',
          })
          await page.goto(request.url.href)
          await heading(page, words.signIn).waitFor()
          await noOverflow(page)
          await screenshot(page, `oidc-signin-${lang}-${viewport.width}`)
          await page.getByLabel(words.login, { exact: true }).fill('olga')
          await page.getByLabel(words.password, { exact: true }).fill(PASSWORD)
          await page.getByRole('button', { name: words.submit, exact: true }).click()
          await heading(page, words.consent).waitFor()
          const asks = page.getByRole('region', { name: words.asks })
          assert.equal(await asks.getByRole('listitem').first().innerText(), words.first)
          assert.equal(await asks.getByRole('listitem').count(), 4)
          await noOverflow(page)
          await screenshot(page, `oidc-consent-${lang}-${viewport.width}`)
        },
        { locale, viewport },
      )
    }
  })
}

const AXE = join(ROOT, 'node_modules/axe-core/axe.min.js')

/** Runs axe on the page as it is; returns the serious and critical violations. */
async function axe(page: Page) {
  await page.addScriptTag({ path: AXE })
  // Page code as text: this program is type-checked without the DOM library.
  const violations = (await page.evaluate(`(async () => {
    const result = await window.axe.run(document)
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    }))
  })()`)) as Array<{ impact: string | null }>
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

// axe is injected as a script, which the pages' CSP forbids: this context bypasses CSP.
test('the sign-in for an application, its consent, an expired request and the connected applications (a removal asked): no serious accessibility violations', async (t) => {
  const { provider, ask } = await withWiki(t)
  await seeded(provider.app, 'pia')
  const tab = await inTab(
    browser(),
    provider,
    async (tab) => {
      const { page } = tab
      await page.goto((await ask({ scope: 'openid profile email' })).url.href)
      await heading(page, 'Sign in to continue to Team Wiki').waitFor()
      assert.deepEqual(await axe(page), [], 'the sign-in')
      await fillSignIn(page, 'pia', PASSWORD)
      await heading(page, 'Allow Team Wiki to use your account?').waitFor()
      assert.deepEqual(await axe(page), [], 'the consent')

      await page.goto(`${provider.origin}/oauth2/interaction/no-such-request`)
      await heading(page, 'This sign-in request has expired or is not valid').waitFor()
      assert.deepEqual(await axe(page), [], 'an expired request')

      await openApp(tab, '#/account')
      const card = apps(page)
      await card.getByRole('button', { name: 'Remove access for Bug Tracker' }).click()
      await card.getByRole('button', { name: 'Yes, remove access for Bug Tracker' }).waitFor()
      assert.deepEqual(await axe(page), [], 'the connected applications')
    },
    { bypassCSP: true, ownChecks: true },
  )
  noProblemsBut(tab, [/\/oauth2\/interaction\/no-such-request\/details/])
})
