import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { assertFocused, heading, openApp, signInUi, status } from '../support/page.ts'
import { bearer, login, PASSWORD, register, session, signUpAdmin } from '../support/requests.ts'

const browser = useBrowser()

/** The logins in the table body, in order. */
async function logins(page: Page): Promise<string[]> {
  const rows = page.locator('table.users tbody tr[data-user]')
  return rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-user') ?? ''))
}

async function caption(page: Page, text: string) {
  await page.locator('table.users caption', { hasText: text }).waitFor()
}

test('an admin sees the users, pages through them and deletes one', async (t) => {
  const web = await serve(t)
  await web.app.users.register('root', PASSWORD, 'admin')
  const others = ['u01', 'u02', 'u03', 'u04', 'u05', 'u06', 'u07']
  for (const name of others) assert.equal((await register(web.app, name)).statusCode, 201)

  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'root')
    assert.equal(await page.locator('[data-field="role"]').innerText(), 'administrator')
    await page.getByRole('link', { name: 'Users' }).click()
    await heading(page, 'Users').waitFor()
    await caption(page, 'page 1')
    await page.locator('tr[data-user="u07"]').waitFor()
    assert.deepEqual(await logins(page), ['root', ...others])
    const next = page.getByRole('button', { name: 'Next page' })
    const previous = page.getByRole('button', { name: 'Previous page' })
    assert.equal(await next.isDisabled(), true, 'one page of 20 holds them all')

    // The admin's own row: marked, and no delete button (see the test of the own row below).
    const own = page.locator('tr[data-user="root"]')
    assert.match(await own.innerText(), /\(you\)/)
    assert.equal(await own.getByRole('button').count(), 0)
    assert.equal(await page.getByRole('button', { name: 'Delete user root' }).count(), 0)

    // Five a page: 5 + 3, forward and back.
    await page.getByLabel('Users per page').selectOption('5')
    await page.locator('tr[data-user="u05"]').waitFor({ state: 'detached' })
    assert.deepEqual(await logins(page), ['root', 'u01', 'u02', 'u03', 'u04'])
    assert.equal(await previous.isDisabled(), true)
    assert.equal(await next.isDisabled(), false)
    await screenshot(page, 'users')
    await next.click()
    await caption(page, 'page 2')
    assert.deepEqual(await logins(page), ['u05', 'u06', 'u07'])
    assert.equal(await next.isDisabled(), true)
    assert.equal(await previous.isDisabled(), false)
    await screenshot(page, 'users-page-2')
    await previous.click()
    await caption(page, 'page 1')
    assert.deepEqual(await logins(page), ['root', 'u01', 'u02', 'u03', 'u04'])

    // Delete asks first; Cancel keeps the user.
    await page.getByRole('button', { name: 'Delete user u03' }).click()
    await page.getByText('Delete u03? This cannot be undone.').waitFor()
    await page.getByRole('button', { name: 'Cancel' }).click()
    const again = page.getByRole('button', { name: 'Delete user u03' })
    await assertFocused(again, 'Cancel gives the focus back to the row’s delete button')

    await page.getByRole('button', { name: 'Delete user u02' }).click()
    const confirm = page.getByRole('button', { name: 'Yes, delete u02' })
    await assertFocused(confirm, 'the confirmation button has the focus')
    await screenshot(page, 'users-confirm-delete')
    await confirm.click()
    assert.equal(await status(page, /deleted/), 'The user u02 was deleted.')
    await page.locator('tr[data-user="u02"]').waitFor({ state: 'detached' })
    // The page refilled from the next one.
    await page.locator('tr[data-user="u05"]').waitFor()
    assert.deepEqual(await logins(page), ['root', 'u01', 'u03', 'u04', 'u05'])
  })
  assert.equal((await login(web.app, 'u02')).statusCode, 401, 'u02 is gone')
  assert.equal((await login(web.app, 'u03')).statusCode, 200, 'u03 was kept')
})

test('deleting the last user of a later page steps back to the page before', async (t) => {
  const web = await serve(t)
  await web.app.users.register('root', PASSWORD, 'admin')
  for (const name of ['v01', 'v02', 'v03', 'v04', 'v05', 'v06']) {
    assert.equal((await register(web.app, name)).statusCode, 201)
  }
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'root')
    await openApp(tab, '#/users')
    await page.getByLabel('Users per page').selectOption('5')
    await caption(page, 'page 1')
    await page.locator('tr[data-user="v05"]').waitFor({ state: 'detached' })
    await page.getByRole('button', { name: 'Next page' }).click()
    await caption(page, 'page 2')
    assert.deepEqual(await logins(page), ['v05', 'v06'])
    await page.getByRole('button', { name: 'Delete user v06' }).click()
    await page.getByRole('button', { name: 'Yes, delete v06' }).click()
    await page.locator('tr[data-user="v06"]').waitFor({ state: 'detached' })
    await page.getByRole('button', { name: 'Delete user v05' }).click()
    await page.getByRole('button', { name: 'Yes, delete v05' }).click()
    await caption(page, 'page 1')
    assert.deepEqual(await logins(page), ['root', 'v01', 'v02', 'v03', 'v04'])
    assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true)
  })
})

test('a user deleted meanwhile by someone else: "not found" is said, and the list is reloaded', async (t) => {
  const web = await serve(t)
  const root = await web.app.users.register('root', PASSWORD, 'admin')
  const victim = (await register(web.app, 'w01')).json()
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'root')
    await openApp(tab, '#/users')
    await page.locator('tr[data-user="w01"]').waitFor()
    await web.app.accounts.remove(root, victim.id)
    await page.getByRole('button', { name: 'Delete user w01' }).click()
    await page.getByRole('button', { name: 'Yes, delete w01' }).click()
    await page.getByRole('alert').filter({ hasText: 'it may have been deleted already' }).waitFor()
    await page.locator('tr[data-user="w01"]').waitFor({ state: 'detached' })
  })
})

test('a user who is not an admin has no user list', async (t) => {
  const web = await serve(t)
  await register(web.app, 'plain')
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'plain')
    assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 0)
    await openApp(tab, '#/users')
    await heading(page, 'Users').waitFor()
    await page.getByText('Only administrators can see the list of users.').waitFor()
    assert.equal(await page.locator('table').count(), 0)
  })
})

test('a list that cannot be loaded: the error alone, no empty table or pager under it', async (t) => {
  const web = await serve(t)
  await web.app.users.register('root', PASSWORD, 'admin')
  const opened = await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await signInUi(tab, 'root')
      // The service goes away while the page stays open.
      await web.app.close()
      await page.getByRole('link', { name: 'Users' }).click()
      await page.getByRole('alert').filter({ hasText: 'The service cannot be reached' }).waitFor()
      assert.equal(await page.locator('table.users').isVisible(), false, 'no table')
      assert.equal(await page.getByRole('button', { name: 'Next page' }).isVisible(), false)
    },
    { ownChecks: true },
  )
  // The browser may ask for the favicon when it likes, and so find the service gone too.
  const unexpected = opened.problems.filter((line) => !line.includes('/favicon.svg'))
  assert.deepEqual(unexpected, [], 'no console errors but the refused favicon')
})

// DELETE /user/{own id} is refused (403): an admin deletes their own account with DELETE /user/me
// and the password, on the account page.
test('the admin’s own row offers no Delete, but a link to the account page where deletion lives', async (t) => {
  const web = await serve(t)
  await web.app.users.register('root', PASSWORD, 'admin')
  await register(web.app, 'x01')
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'root')
    await openApp(tab, '#/users')
    const own = page.locator('tr[data-user="root"]')
    await page
      .locator('tr[data-user="x01"]')
      .getByRole('button', { name: 'Delete user x01' })
      .waitFor()
    assert.equal(await own.getByRole('button').count(), 0, 'no button in the own row')
    const link = own.getByRole('link', { name: 'Delete on your account page' })
    assert.equal(await link.getAttribute('href'), '#/account')
    await link.click()
    await heading(page, 'Your account').waitFor()
    await page
      .getByRole('region', { name: 'Delete account' })
      .getByLabel('Password', { exact: true })
      .waitFor()

    await page.getByLabel('Language').selectOption('ru')
    await openApp(tab, '#/users')
    await page
      .locator('tr[data-user="root"]')
      .getByRole('link', { name: 'Удалить в учётной записи' })
      .waitFor()
  })
  assert.equal((await login(web.app, 'root')).statusCode, 200, 'root is still there')
})

/**
 * What keeps a control of the user list from being seen whole: sideways scrolling of the page,
 * a control outside the viewport, or one cut off by a box that clips or scrolls its content.
 * (Page code as text: this program is type-checked without the DOM library.)
 */
const CLIPPING = `(() => {
  const problems = []
  const root = document.documentElement
  if (root.scrollWidth > root.clientWidth) {
    problems.push('the page scrolls sideways: ' + root.scrollWidth + ' > ' + root.clientWidth)
  }
  for (const control of document.querySelectorAll('table.users :is(button, a)')) {
    const box = control.getBoundingClientRect()
    const name = control.textContent.trim()
    if (box.width === 0 || box.left < 0 || box.right > root.clientWidth) {
      problems.push(name + ' is not within the viewport: ' + box.left + '..' + box.right)
    }
    for (let box2 = control.parentElement; box2; box2 = box2.parentElement) {
      if (getComputedStyle(box2).overflowX === 'visible') continue
      const outer = box2.getBoundingClientRect()
      if (box.left < outer.left || box.right > outer.right || box2.scrollWidth > box2.clientWidth) {
        problems.push(name + ' is cut off by ' + box2.tagName.toLowerCase() + '.' + box2.className)
      }
    }
  }
  return problems
})()`

/** How many table parts Chromium's accessibility tree (what screen readers get) holds. */
async function tableRoles(page: Page): Promise<Record<string, number>> {
  const cdp = await page.context().newCDPSession(page)
  const { nodes } = await cdp.send('Accessibility.getFullAXTree')
  await cdp.detach()
  const counts: Record<string, number> = {}
  for (const node of nodes) {
    const role = String(node.role?.value ?? '')
    if (['table', 'row', 'columnheader', 'rowheader', 'cell'].includes(role) && !node.ignored) {
      counts[role] = (counts[role] ?? 0) + 1
    }
  }
  return counts
}

for (const [language, locale, confirmDelete, confirmDisable] of [
  ['English', 'en-US', 'Yes, delete', 'Yes, disable'],
  ['Russian', 'ru-RU', 'Да, удалить', 'Да, отключить'],
] as const) {
  test(`in ${language}, the user list fits 1280 px and 390 px: no action clipped, no sideways scrolling`, async (t) => {
    const web = await serve(t)
    const admin = await signUpAdmin(web.app, 'administrator')
    const names = [
      'anna',
      'boris.petrov',
      'eve@example.org',
      'a-rather-long-login.name@example.org',
    ]
    for (const name of names) assert.equal((await register(web.app, name)).statusCode, 201)
    // One of them disabled: its badge and its Enable must fit too.
    const boris = (await session(web.app, 'boris.petrov')).user.id
    const disabled = await web.app.inject({
      method: 'POST',
      url: `/user/${boris}/disable`,
      headers: bearer(admin.access_token),
      payload: {},
    })
    assert.equal(disabled.statusCode, 200)
    await inTab(
      browser(),
      web,
      async (tab) => {
        const { page } = tab
        await openApp(tab, '#/signin')
        await page.locator('input[name="login"]').fill('administrator')
        await page.locator('input[name="password"]').fill(PASSWORD)
        await page.locator('button[type="submit"]').click()
        await page.locator('[data-field="login"]').waitFor()
        for (const width of [1280, 390]) {
          await page.setViewportSize({ width, height: 800 })
          await openApp(tab, '#/users')
          await page.locator(`tr[data-user="${names.at(-1)}"]`).waitFor()
          assert.deepEqual(await page.evaluate(CLIPPING), [], `${width} px`)
          // For each other user: Events, Disable or Enable, Delete; the own row's Events and link
          // to the account page. All were checked.
          assert.equal(
            await page.locator('table.users :is(button, a)').count(),
            names.length * 3 + 2,
          )
          // Still a table for screen readers, whatever its layout (one block per user on phones).
          assert.deepEqual(await tableRoles(page), {
            table: 1,
            row: names.length + 2,
            columnheader: 5,
            rowheader: names.length + 1,
            cell: 4 * (names.length + 1),
          })
          await screenshot(page, `users-${locale}-${width}`)

          // With a question open in the row with the longest login: deleting, and disabling.
          const long = page.locator(`tr[data-user="${names.at(-1)}"]`)
          for (const [action, confirm] of [
            ['delete', confirmDelete],
            ['disable', confirmDisable],
          ] as const) {
            await long.locator(`[data-action="${action}"]`).click()
            // The question has a row of its own, under the user's.
            const question = page.locator(`tr[data-question="${names.at(-1)}"]`)
            await question.getByRole('button', { name: new RegExp(confirm) }).waitFor()
            assert.deepEqual(await page.evaluate(CLIPPING), [], `${width} px, ${action}`)
            await screenshot(page, `users-${action}-${locale}-${width}`)
            await question.getByRole('button').last().click()
            await question.waitFor({ state: 'detached' })
          }
        }
      },
      { locale },
    )
  })
}
