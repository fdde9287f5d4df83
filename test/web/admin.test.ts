import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { assertFocused, heading, openApp, signInUi, status } from '../support/page.ts'
import { login, PASSWORD, register } from '../support/requests.ts'

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

    // The admin's own row: marked, and no delete button (that is the account page's job).
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
  await web.app.users.register('root', PASSWORD, 'admin')
  const victim = (await register(web.app, 'w01')).json()
  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'root')
    await openApp(tab, '#/users')
    await page.locator('tr[data-user="w01"]').waitFor()
    await web.app.users.remove({ id: victim.id, role: 'user' }, victim.id)
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
