import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { inTab, SETTLE_MS, screenshot, serve, useBrowser } from '../support/browser.ts'
import { eventually } from '../support/eventually.ts'
import {
  assertFocused,
  assertText,
  fieldError,
  fillSignIn,
  fillSignUp,
  heading,
  noFieldErrors,
  openApp,
  status,
} from '../support/page.ts'
import { PASSWORD, register } from '../support/requests.ts'

const browser = useBrowser()

describe('sign up', () => {
  test('shows the password policy before submission and a strength hint that follows the typing', async (t) => {
    const web = await serve(t, { PASSWORD_MIN_LENGTH: '12' })
    await inTab(browser(), web, async ({ page, ...tab }) => {
      await openApp({ page, ...tab }, '#/signup')
      await heading(page, 'Create an account').waitFor()
      const password = page.getByLabel('Password', { exact: true })
      // The rules come from GET /password-policy (12 here, not the default 15).
      const policy = page.locator('.policy')
      await policy.getByText('at least 12 characters').waitFor()
      const rules = await policy.innerText()
      assert.match(rules, /commonly used passwords/)
      assert.match(rules, /must not contain your login/)
      const described = (await password.getAttribute('aria-describedby')) ?? ''
      assert.ok(described.includes(`${await password.getAttribute('id')}-policy`), described)
      const strength = page.locator('.strength')
      assert.match(await strength.innerText(), /only a rough hint/)
      assert.match(await strength.innerText(), /nothing typed yet/)

      await page.getByLabel('Login', { exact: true }).fill('zoe')
      await password.fill('aaaa')
      await assertText(strength, /very weak/)
      await assertText(policy, /so far: 4/)
      await password.fill('Tangerine pelican orbits 7 quiet moons!')
      await assertText(strength, /strong/)
      assert.doesNotMatch(await strength.innerText(), /weak/)
      // Containing the login is as good as nothing.
      await password.fill('zoe zoe zoe zoe zoe zoe zoe zoe')
      await assertText(strength, /very weak/)
      await noFieldErrors(page)
      await screenshot(page, 'signup')
    })
  })

  test('each password rule the page can judge ticks when met and unticks when broken, in words too', async (t) => {
    const web = await serve(t, { PASSWORD_MIN_LENGTH: '12' })
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await openApp(tab, '#/signup')
      const login = page.getByLabel('Login', { exact: true })
      const password = page.getByLabel('Password', { exact: true })
      const rule = (name: string) => page.locator(`.policy li[data-rule="${name}"]`)
      await rule('min').getByText('at least 12 characters').waitFor()
      const states = async () => {
        const entries = await page
          .locator('.policy li[data-rule]')
          .evaluateAll((items) =>
            items.map((li) => [li.getAttribute('data-rule'), li.getAttribute('data-state')]),
          )
        return Object.fromEntries(entries)
      }
      /** Waits for the states the page settles on after typing, then asserts them. */
      const expect = async (expected: Record<string, string>, why: string) => {
        const same = (now: Record<string, string>) =>
          JSON.stringify(now) === JSON.stringify(expected)
        const settled = await eventually(states, {
          what: why,
          until: same,
          timeoutMs: SETTLE_MS,
          lastOnTimeout: true,
        })
        assert.deepEqual(settled, expected, why)
      }
      const none = { min: 'none', max: 'none', common: 'none', login: 'none' }
      await expect(none, 'nothing typed: nothing judged')

      // The service counts code points after NFKC: the ligature ﬁ is two, an emoji one.
      await login.fill('Straße')
      await password.fill('\ufb01abcdefghij')
      await expect({ min: 'met', max: 'met', common: 'none', login: 'met' }, 'ﬁ + 10 = 12')
      await password.fill('\u{1F600}'.repeat(11))
      await expect({ min: 'unmet', max: 'met', common: 'none', login: 'met' }, '11 emoji')
      // NFKC + case folding, as the service compares: Straße is found in STRASSE.
      await password.fill('my STRASSE 1234')
      await expect({ min: 'met', max: 'met', common: 'none', login: 'unmet' }, 'holds the login')
      // The rule follows the login field too.
      await login.fill('zoe')
      await expect({ min: 'met', max: 'met', common: 'none', login: 'met' }, 'another login')
      await password.fill('x'.repeat(257))
      await expect({ min: 'met', max: 'unmet', common: 'none', login: 'met' }, '257 characters')
      await password.fill('x'.repeat(256))
      await expect({ min: 'met', max: 'met', common: 'none', login: 'met' }, '256 characters')
      // The list of common passwords stays with the service: never green here.
      await password.fill('password1234')
      await expect({ min: 'met', max: 'met', common: 'none', login: 'met' }, 'a common one')
      assert.match(await rule('common').innerText(), /when you submit/)

      // Screen readers get the state in words, not only as a colour or a mark.
      await login.fill('password')
      await expect({ min: 'met', max: 'met', common: 'none', login: 'unmet' }, 'login inside')
      const spoken = async (name: string) => rule(name).ariaSnapshot()
      assert.match(await spoken('min'), /at least 12 characters.*\(met\)/)
      assert.match(await spoken('login'), /must not contain your login.*\(not met\)/)
      assert.doesNotMatch(await spoken('common'), /met\)/)
      // …and hear of a rule that changes while they type (a polite live region).
      await login.fill('zoe')
      const news = page.locator('[aria-live="polite"]:not([role="status"])')
      await assertText(news, /^must not contain your login \(met\)$/)

      await password.fill('')
      await expect(none, 'cleared: nothing judged')
      await screenshot(page, 'signup-rules')
    })
  })

  test('a weak password is refused next to the password field; then a good one signs up and in', async (t) => {
    const web = await serve(t)
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await openApp(tab, '#/signup')
      await fillSignUp(page, 'alice', 'kq7$vz')
      const password = page.getByLabel('Password', { exact: true })
      assert.equal(await fieldError(password), 'Too short: use at least 15 characters.')
      // The focus goes to the field in error, and the login is fine.
      await assertFocused(password, 'the password field has the focus')
      assert.equal(
        await page.getByLabel('Login', { exact: true }).getAttribute('aria-invalid'),
        null,
      )

      await password.fill('passwordpassword')
      await page.getByRole('button', { name: 'Create account' }).click()
      await page.getByText('on the list of passwords attackers try first').waitFor()
      assert.match(await fieldError(password), /too common/)

      await password.fill('alice-in-wonderland-42')
      await page.getByRole('button', { name: 'Create account' }).click()
      // The field is still marked invalid from the last answer: wait for the new one.
      await page.getByText('The password must not contain your login.', { exact: true }).waitFor()
      assert.equal(await fieldError(password), 'The password must not contain your login.')

      await password.fill(PASSWORD)
      await page.getByRole('button', { name: 'Create account' }).click()
      await heading(page, 'Your account').waitFor()
      assert.match(await status(page, /created/), /The account alice was created/)
      assert.equal(await page.locator('[data-field="login"]').innerText(), 'alice')
      // The focus moved to the new page's heading.
      await assertFocused(heading(page, 'Your account'), 'the new page’s heading has the focus')
    })
  })

  test('several problems at once: an invalid login next to the login, a short password next to the password', async (t) => {
    const web = await serve(t)
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await openApp(tab, '#/signup')
      await fillSignUp(page, 'a b', 'short')
      const login = page.getByLabel('Login', { exact: true })
      const password = page.getByLabel('Password', { exact: true })
      assert.match(await fieldError(login), /no spaces/)
      assert.match(await fieldError(password), /at least 15 characters/)
      await screenshot(page, 'signup-errors')
      // Editing a field takes its error away (it was about the value sent); the other one stays.
      await login.fill('anna')
      assert.equal(await login.getAttribute('aria-invalid'), null)
      assert.equal(await page.getByText('no spaces').count(), 0)
      assert.match(await fieldError(password), /at least 15 characters/)
    })
  })

  test('a taken login is shown next to the login field', async (t) => {
    const web = await serve(t)
    assert.equal((await register(web.app, 'bob')).statusCode, 201)
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await openApp(tab, '#/signup')
      await fillSignUp(page, 'BOB', PASSWORD)
      const login = page.getByLabel('Login', { exact: true })
      assert.equal(await fieldError(login), 'This login is already taken. Choose another one.')
      assert.equal(
        await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid'),
        null,
      )
      assert.equal(await heading(page, 'Create an account').count(), 1)
      // The API's refusal was the only thing the console saw (its report may come a bit late).
      const refused = (lines: string[]) =>
        lines.some((line) => line.startsWith('/user/') && /409/.test(line))
      const refusals = await eventually(() => tab.refusals, {
        what: 'the refusal in the console',
        until: refused,
        timeoutMs: SETTLE_MS,
        lastOnTimeout: true,
      })
      assert.ok(refused(refusals), tab.refusals.join('\n'))
    })
  })

  test('empty fields are refused without asking the service', async (t) => {
    const web = await serve(t)
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await openApp(tab, '#/signup')
      const before = tab.requests.length
      await page.getByRole('button', { name: 'Create account' }).click()
      assert.equal(await fieldError(page.getByLabel('Login', { exact: true })), 'Enter a login.')
      assert.equal(
        await fieldError(page.getByLabel('Password', { exact: true })),
        'Enter the password.',
      )
      // Only calls of the API count: the browser fetches other things (the favicon) when it likes.
      const api = (url: string) => /^\/(user|session)(\/|$)/.test(new URL(url).pathname)
      assert.deepEqual(tab.requests.slice(before).filter(api), [])
    })
  })
})

describe('sign in', () => {
  test('a wrong password is refused next to the password field; the right one opens the account', async (t) => {
    const web = await serve(t)
    assert.equal((await register(web.app, 'carol')).statusCode, 201)
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await openApp(tab)
      await heading(page, 'Sign in').waitFor()
      await screenshot(page, 'signin')
      await fillSignIn(page, 'carol', 'not the password at all')
      const password = page.getByLabel('Password', { exact: true })
      assert.equal(await fieldError(password), 'Wrong login or password.')
      await screenshot(page, 'signin-error')

      await password.fill(PASSWORD)
      await page.getByRole('button', { name: 'Sign in', exact: true }).click()
      await heading(page, 'Your account').waitFor()
      assert.equal(await status(page, /signed in/), 'You are signed in as carol.')
      await page.waitForURL(`${web.origin}/#/account`)
    })
  })

  test('an unknown login gets the same words as a wrong password', async (t) => {
    const web = await serve(t)
    await inTab(browser(), web, async (tab) => {
      await openApp(tab, '#/signin')
      await fillSignIn(tab.page, 'nobody-here', PASSWORD)
      assert.equal(
        await fieldError(tab.page.getByLabel('Password', { exact: true })),
        'Wrong login or password.',
      )
    })
  })

  test('the account and users routes send a visitor without a session to sign in', async (t) => {
    const web = await serve(t)
    await inTab(browser(), web, async (tab) => {
      for (const route of ['#/account', '#/users']) {
        await openApp(tab, route)
        await heading(tab.page, 'Sign in').waitFor()
        // The second time only the fragment changes, and the page replaces it a moment later.
        await tab.page.waitForURL(`${web.origin}/#/signin`)
      }
      // Keyboard: from the sign-in link to the sign-up page and back.
      await tab.page.getByRole('link', { name: 'Create one' }).focus()
      await tab.page.keyboard.press('Enter')
      await heading(tab.page, 'Create an account').waitFor()
      await assertFocused(
        heading(tab.page, 'Create an account'),
        'the sign-up heading has the focus',
      )
    })
  })
})
