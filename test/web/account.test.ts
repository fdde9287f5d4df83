import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, screenshot, serve, type Tab, useBrowser } from '../support/browser.ts'
import { eventually } from '../support/eventually.ts'
import {
  assertFocused,
  fieldError,
  heading,
  noFieldErrors,
  openApp,
  reload,
  signInUi,
  status,
} from '../support/page.ts'
import { bearer, login, NEW_PASSWORD, PASSWORD, register, signUp } from '../support/requests.ts'

const browser = useBrowser()

const REFRESH_COOKIE = '__Secure-usersvc-refresh'

function section(page: Page, name: string) {
  return page.getByRole('region', { name })
}

async function refreshCookie(tab: Tab) {
  return (await tab.context.cookies()).find((cookie) => cookie.name === REFRESH_COOKIE)
}

describe('account page', () => {
  test('shows login, id, role and registration date; a reload restores the session from the cookie', async (t) => {
    const web = await serve(t)
    const created = await register(web.app, 'dave')
    const user = created.json()
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await signInUi(tab, 'dave')
      const details = section(page, 'Account details')
      assert.equal(await details.locator('[data-field="login"]').innerText(), 'dave')
      assert.equal(await details.locator('[data-field="id"]').innerText(), user.id)
      assert.equal(await details.locator('[data-field="role"]').innerText(), 'user')
      const time = details.locator('time[data-field="registered"]')
      assert.equal(await time.getAttribute('datetime'), user.registered_at)
      const year = String(new Date(user.registered_at).getUTCFullYear())
      assert.ok((await time.innerText()).includes(year), await time.innerText())
      // Not an admin: no user list in the menu.
      assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 0)
      await screenshot(page, 'account')

      const cookie = await refreshCookie(tab)
      assert.ok(cookie, 'the refresh token is in a cookie')
      assert.equal(cookie.httpOnly, true)
      assert.equal(cookie.secure, true)
      assert.equal(cookie.sameSite, 'Strict')
      assert.equal(cookie.path, '/session')

      const restored = page.waitForResponse(
        (r) => r.url().endsWith('/session/refresh?cookie=true') && r.request().method() === 'POST',
      )
      await reload(tab)
      assert.equal((await restored).status(), 200)
      await heading(page, 'Your account').waitFor()
      assert.equal(
        await section(page, 'Account details').locator('[data-field="login"]').innerText(),
        'dave',
      )
      // The token was rotated: the cookie holds a new one.
      assert.notEqual((await refreshCookie(tab))?.value, cookie.value)
    })
  })

  test('tokens: the access token only in memory, the refresh token only in the HttpOnly cookie', async (t) => {
    const web = await serve(t)
    await register(web.app, 'erin')
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await openApp(tab, '#/signin')
      const signedIn = page.waitForResponse((r) => r.url().endsWith('/session/?cookie=true'))
      await page.getByLabel('Login', { exact: true }).fill('erin')
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
      await page.getByRole('button', { name: 'Sign in', exact: true }).click()
      const body = await (await signedIn).json()
      assert.equal(typeof body.access_token, 'string')
      assert.equal(
        body.refresh_token,
        undefined,
        'cookie mode keeps the refresh token out of the body',
      )
      await heading(page, 'Your account').waitFor()
      const cookie = await refreshCookie(tab)
      assert.ok(cookie)
      const visible = (await page.evaluate(`({
        local: JSON.stringify({ ...localStorage }),
        session: JSON.stringify({ ...sessionStorage }),
        cookies: document.cookie,
      })`)) as { local: string; session: string; cookies: string }
      for (const [where, text] of Object.entries(visible)) {
        assert.ok(!text.includes(body.access_token), `no access token in ${where}`)
        assert.ok(!text.includes(cookie.value), `no refresh token in ${where}`)
      }
      assert.equal(visible.cookies, '', 'scripts see no cookie at all')
    })
  })

  test('the access token is renewed from the cookie before it expires, and the new one is used', async (t) => {
    const web = await serve(t)
    await register(web.app, 'fay')
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await page.clock.install()
      await openApp(tab, '#/signin')
      const signedIn = page.waitForResponse((r) => r.url().endsWith('/session/?cookie=true'))
      await page.getByLabel('Login', { exact: true }).fill('fay')
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
      await page.getByRole('button', { name: 'Sign in', exact: true }).click()
      const first = await (await signedIn).json()
      assert.equal(first.expires_in, 900)
      await heading(page, 'Your account').waitFor()

      const refreshed = page.waitForResponse((r) =>
        r.url().endsWith('/session/refresh?cookie=true'),
      )
      // 14 minutes of the page's time: the renewal is due a minute before the 15 expire.
      await page.clock.fastForward('14:01')
      const renewed = await refreshed
      assert.equal(renewed.status(), 200)
      const second = await renewed.json()
      assert.notEqual(second.access_token, first.access_token)

      const call = page.waitForRequest((r) => r.url().endsWith('/session/all'))
      await page.getByRole('button', { name: 'Log out everywhere' }).click()
      assert.equal((await call).headers().authorization, `Bearer ${second.access_token}`)
      await heading(page, 'Sign in').waitFor()
    })
  })
})

describe('change password', () => {
  test('wrong current password and a refused new one are shown at their fields; then the new password is the only one', async (t) => {
    const web = await serve(t)
    await register(web.app, 'gina')
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await signInUi(tab, 'gina')
      const part = section(page, 'Change password')
      const current = part.getByLabel('Current password', { exact: true })
      const next = part.getByLabel('New password', { exact: true })
      const submit = part.getByRole('button', { name: 'Change password' })
      // The rules are there before anything is sent.
      await part.getByText('at least 15 characters').waitFor()

      await current.fill('not my password at all')
      await next.fill(NEW_PASSWORD)
      await submit.click()
      assert.equal(await fieldError(current), 'This is not your current password.')
      assert.equal(await next.getAttribute('aria-invalid'), null)

      await current.fill(PASSWORD)
      await next.fill('gina gina gina gina')
      await submit.click()
      assert.equal(await fieldError(next), 'The password must not contain your login.')
      assert.equal(await current.getAttribute('aria-invalid'), null)

      await next.fill(NEW_PASSWORD)
      await submit.click()
      assert.match(await status(page, /Password changed/), /Every other session/)
      await noFieldErrors(page)
      assert.equal(await current.inputValue(), '')
      // Still signed in (with the new password), and a reload keeps it so.
      await reload(tab)
      await heading(page, 'Your account').waitFor()
    })
    // The old password no longer signs in, the new one does.
    assert.equal((await login(web.app, 'gina', PASSWORD)).statusCode, 401)
    await inTab(browser(), web, async (tab) => {
      await openApp(tab, '#/signin')
      await tab.page.getByLabel('Login', { exact: true }).fill('gina')
      await tab.page.getByLabel('Password', { exact: true }).fill(PASSWORD)
      await tab.page.getByRole('button', { name: 'Sign in', exact: true }).click()
      assert.equal(
        await fieldError(tab.page.getByLabel('Password', { exact: true })),
        'Wrong login or password.',
      )
      await tab.page.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD)
      await tab.page.getByRole('button', { name: 'Sign in', exact: true }).click()
      await heading(tab.page, 'Your account').waitFor()
    })
  })
})

describe('sessions', () => {
  test('a first visit, and a visit after logging out, make no failed request', async (t) => {
    const web = await serve(t)
    await register(web.app, 'nina')
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      const sessionAnswers: number[] = []
      page.on('response', (response) => {
        if (new URL(response.url()).pathname === '/session/refresh') {
          sessionAnswers.push(response.status())
        }
      })
      await openApp(tab, '#/signin')
      await heading(page, 'Sign in').waitFor()
      // The page did ask whether there is a session; the answer was "no", not an error.
      await eventually(() => (sessionAnswers.length > 0 ? sessionAnswers : undefined), {
        what: 'the page asking for its session',
      })
      assert.deepEqual(sessionAnswers, [204])
      await signInUi(tab, 'nina')
      await page.getByRole('button', { name: 'Log out', exact: true }).click()
      await heading(page, 'Sign in').waitFor()
      await reload(tab)
      await heading(page, 'Sign in').waitFor()
      assert.deepEqual(tab.refusals, [], 'no refused API request in the console')
    })
  })

  test('log out: back to sign in, the cookie is gone, a reload stays signed out', async (t) => {
    const web = await serve(t)
    await register(web.app, 'hank')
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await signInUi(tab, 'hank')
      await page.getByRole('button', { name: 'Log out', exact: true }).click()
      await heading(page, 'Sign in').waitFor()
      assert.equal(await status(page, /logged out/), 'You are logged out.')
      await assertFocused(heading(page, 'Sign in'), 'the sign-in heading has the focus')
      assert.equal(await refreshCookie(tab), undefined)
      await reload(tab)
      await heading(page, 'Sign in').waitFor()
      assert.equal(await page.getByRole('link', { name: 'Your account' }).count(), 0)
    })
  })

  test('log out everywhere ends the sessions of other browsers too', async (t) => {
    const web = await serve(t)
    await register(web.app, 'iris')
    // Another browser profile, signed in as the same user.
    await inTab(browser(), web, async (other) => {
      await signInUi(other, 'iris')
      await inTab(browser(), web, async (tab) => {
        await signInUi(tab, 'iris')
        await tab.page.getByRole('button', { name: 'Log out everywhere' }).click()
        await heading(tab.page, 'Sign in').waitFor()
        assert.equal(await status(tab.page, /every device/), 'You are logged out on every device.')
        assert.equal(await refreshCookie(tab), undefined)
      })
      // The other browser's refresh cookie was revoked: a reload finds no session.
      assert.ok(await refreshCookie(other), 'it still has its (revoked) cookie')
      await reload(other)
      await heading(other.page, 'Sign in').waitFor()
      assert.equal(await other.page.getByRole('link', { name: 'Your account' }).count(), 0)
    })
  })

  test('a session ended elsewhere (password changed through the API) sends the page back to sign in', async (t) => {
    const web = await serve(t)
    const api = await signUp(web.app, 'jack')
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await signInUi(tab, 'jack')
      // The password changes a second later, which revokes every session and older tokens.
      web.clock.advance(2)
      const changed = await web.app.inject({
        method: 'PUT',
        url: '/user/me/password',
        headers: bearer(api.access_token),
        payload: { current_password: PASSWORD, new_password: NEW_PASSWORD },
      })
      assert.equal(changed.statusCode, 204)
      await page.getByRole('button', { name: 'Log out everywhere' }).click()
      await heading(page, 'Sign in').waitFor()
      assert.equal(await status(page, /ended/), 'Your session has ended. Please sign in again.')
    })
  })
})

describe('delete account', () => {
  test('a wrong password is refused at the field; the right one deletes the account', async (t) => {
    const web = await serve(t)
    await register(web.app, 'kate')
    await inTab(browser(), web, async (tab) => {
      const { page } = tab
      await signInUi(tab, 'kate')
      const part = section(page, 'Delete account')
      const password = part.getByLabel('Password', { exact: true })
      await password.fill('wrong password, definitely')
      await part.getByRole('button', { name: 'Delete my account' }).click()
      assert.equal(await fieldError(password), 'The password is wrong.')
      await heading(page, 'Your account').waitFor()
      assert.equal((await login(web.app, 'kate')).statusCode, 200, 'still there')

      await password.fill(PASSWORD)
      await part.getByRole('button', { name: 'Delete my account' }).click()
      await heading(page, 'Sign in').waitFor()
      assert.equal(await status(page, /deleted/), 'Your account was deleted.')
      assert.equal(await refreshCookie(tab), undefined)
      await reload(tab)
      await heading(page, 'Sign in').waitFor()
    })
    assert.equal((await login(web.app, 'kate')).statusCode, 401)
    assert.equal((await register(web.app, 'kate')).statusCode, 201, 'the login is free again')
  })
})
