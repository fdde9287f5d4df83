// The Webhooks view (administrators), against the real webhooks API and a real receiver on
// 127.0.0.1: adding one (its secret shown once, with Copy), its deliveries (a failed one retried),
// disabling, enabling and deleting it; refusals next to their field; no view for others.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type TestContext, test } from 'node:test'
import type { App } from '../../src/app.ts'
import { inTab, screenshot, serve, useBrowser } from '../support/browser.ts'
import { eventually } from '../support/eventually.ts'
import {
  assertFocused,
  fieldError,
  heading,
  openApp,
  reload,
  signInUi,
  status,
} from '../support/page.ts'
import { bearer, register, signUpAdmin } from '../support/requests.ts'

const browser = useBrowser()

/** Tries 50 ms apart, three in all: a delivery that keeps failing is given up on at once. */
const FAST = { WEBHOOK_RETRY_SCHEDULE: '0.05,0.05' }

/** Page code as text: this program is type-checked without the DOM library. */
const SIDEWAYS = `document.documentElement.scrollWidth - document.documentElement.clientWidth`

/** A receiver on 127.0.0.1 that answers 500 until `healthy`, then 204. */
async function receiver(t: TestContext) {
  const state = { healthy: false, received: 0 }
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      state.received += 1
      response.writeHead(state.healthy ? 204 : 500)
      response.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/usersvc`, state }
}

interface ApiWebhook {
  id: string
  url: string
  enabled: boolean
  types: string[] | null
  description: string | null
  secret?: string
}

async function webhooks(app: App, token: string): Promise<ApiWebhook[]> {
  const res = await app.inject({ method: 'GET', url: '/webhooks/', headers: bearer(token) })
  assert.equal(res.statusCode, 200)
  const body = res.json() as ApiWebhook[] | { items: ApiWebhook[] }
  return Array.isArray(body) ? body : body.items
}

async function deliveries(app: App, token: string, id: string) {
  const res = await app.inject({
    method: 'GET',
    url: `/webhooks/${id}/deliveries`,
    headers: bearer(token),
  })
  assert.equal(res.statusCode, 200)
  return (res.json() as { items: Array<{ id: string; status: string; attempts: number }> }).items
}

test('an admin adds a webhook (its secret once, with Copy), retries a failed delivery, disables, enables and deletes it', async (t) => {
  const web = await serve(t, FAST)
  const { app } = web
  const root = await signUpAdmin(app, 'root')
  const rx = await receiver(t)

  await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await tab.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: tab.origin,
    })
    await signInUi(tab, 'root')
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Webhooks' })
      .click()
    await heading(page, 'Webhooks').waitFor()
    assert.equal(await page.title(), 'Webhooks – usersvc')
    await page.getByText('No webhooks yet.').waitFor()

    // Only registrations, to the receiver.
    await page.getByLabel('URL', { exact: true }).fill(rx.url)
    await page.getByLabel('Description (optional)').fill('CRM sync')
    await page.getByLabel('Only those I choose').check()
    await page.getByLabel(/Account created/).check()
    await page.getByRole('button', { name: 'Add webhook' }).click()
    assert.equal(await status(page, /added/), `The webhook for ${rx.url} was added.`)
    const panel = page.locator('[data-field="new-secret"]')
    await assertFocused(
      panel.getByRole('heading', { name: 'The signing secret of the new webhook' }),
    )
    await panel.getByText('Copy it now: you will not see it again.', { exact: false }).waitFor()
    const secret = await panel.locator('[data-field="secret"]').innerText()
    assert.match(secret, /^whsec_[A-Za-z0-9+/=]+$/)
    await panel.getByRole('button', { name: 'Copy secret' }).click()
    await panel.getByText('The secret is copied.').waitFor()
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), secret)

    const [hook, ...others] = await webhooks(app, root.access_token)
    assert.ok(hook)
    assert.deepEqual(others, [])
    assert.equal(hook.url, rx.url)
    assert.deepEqual(hook.types, ['user.registered'])
    assert.equal(hook.description, 'CRM sync')
    assert.equal(hook.secret, undefined, 'a list never holds the secret')
    const item = page.locator(`li[data-webhook="${hook.id}"]`)
    await item.waitFor()
    assert.equal(await item.locator('[data-field="types"]').innerText(), 'Account created')
    await item.getByText('enabled', { exact: true }).waitFor()
    await item.getByText('Nothing was delivered yet.').waitFor()

    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 })
      assert.equal(await page.evaluate(SIDEWAYS), 0, `${width} px`)
      await screenshot(page, `webhooks-secret-en-${width}`)
    }
    await page.setViewportSize({ width: 1000, height: 800 })
    await panel.getByRole('button', { name: 'I saved it: hide' }).click()
    await panel.waitFor({ state: 'detached' })
    await assertFocused(page.getByRole('heading', { name: 'Add a webhook' }))
    await reload(tab)
    await item.waitFor()
    assert.equal(await page.getByText(secret).count(), 0, 'the secret is gone for good')

    // A registration the receiver refuses, three times: failed.
    assert.equal((await register(app, 'erin')).statusCode, 201)
    const [failed] = await eventually(() => deliveries(app, root.access_token, hook.id), {
      what: 'a failed delivery',
      until: (rows) => rows[0]?.status === 'failed',
    })
    assert.ok(failed)
    await item.getByLabel('Show').selectOption('failed')
    const row = item.locator(`li[data-delivery="${failed.id}"][data-status="failed"]`)
    await row.waitFor()
    assert.match(
      (await row.innerText()).replace(/\s+/g, ' '),
      /^failed Account created user\.registered 3 attempts answered HTTP 500 last tried /,
    )
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 })
      assert.equal(await page.evaluate(SIDEWAYS), 0, `${width} px, a failed delivery`)
      await screenshot(page, `webhooks-failed-en-${width}`)
    }
    await page.setViewportSize({ width: 1000, height: 800 })

    // Retried once the receiver is back: delivered.
    rx.state.healthy = true
    await row.getByRole('button', { name: 'Retry the delivery of user.registered' }).click()
    assert.equal(
      await status(page, /tried again/),
      'The delivery of user.registered is being tried again.',
    )
    await eventually(() => deliveries(app, root.access_token, hook.id), {
      what: 'the delivery delivered',
      until: (rows) => rows[0]?.status === 'delivered',
    })
    await item.getByLabel('Show').selectOption('delivered')
    await item.locator(`li[data-delivery="${failed.id}"][data-status="delivered"]`).waitFor()

    // Disabled, then enabled again: the badge, the focus and the API follow.
    await item.getByRole('button', { name: 'Disable' }).click()
    assert.equal(
      await status(page, /disabled/),
      `The webhook for ${rx.url} is disabled: deliveries wait until it is enabled again.`,
    )
    const again = page.locator(`li[data-webhook="${hook.id}"]`)
    await again.getByText('disabled', { exact: true }).waitFor()
    await assertFocused(again.getByRole('button', { name: 'Enable' }))
    assert.equal((await webhooks(app, root.access_token))[0]?.enabled, false)
    await again.getByRole('button', { name: 'Enable' }).click()
    await status(page, /is enabled/)
    assert.equal((await webhooks(app, root.access_token))[0]?.enabled, true)

    // In Russian.
    await page.getByLabel('Language').selectOption('ru')
    await heading(page, 'Вебхуки').waitFor()
    await again.getByText('включён', { exact: true }).waitFor()
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 })
      assert.equal(await page.evaluate(SIDEWAYS), 0, `${width} px in Russian`)
      await screenshot(page, `webhooks-ru-${width}`)
    }
    await page.getByLabel('Язык').selectOption('en')

    // Deleted, asked first.
    await again.getByRole('button', { name: 'Delete' }).click()
    await again.getByText(`Delete the webhook for ${rx.url}?`, { exact: false }).waitFor()
    await again.getByRole('button', { name: 'Cancel' }).click()
    await assertFocused(again.getByRole('button', { name: 'Delete' }))
    await again.getByRole('button', { name: 'Delete' }).click()
    await again.getByRole('button', { name: 'Yes, delete' }).click()
    assert.equal(await status(page, /deleted/), `The webhook for ${rx.url} was deleted.`)
    await page.getByText('No webhooks yet.').waitFor()
    assert.deepEqual(await webhooks(app, root.access_token), [])
  })
})

test('a URL the service refuses is said next to the field; no type chosen is said before asking', async (t) => {
  const web = await serve(t)
  await signUpAdmin(web.app, 'root')
  const opened = await inTab(
    browser(),
    web,
    async (tab) => {
      const { page } = tab
      await signInUi(tab, 'root')
      await openApp(tab, '#/webhooks')
      await page.getByText('No webhooks yet.').waitFor()
      const url = page.getByLabel('URL', { exact: true })

      await url.fill('https://hooks.example.com/usersvc')
      await page.getByLabel('Only those I choose').check()
      const requests = tab.requests.length
      await page.getByRole('button', { name: 'Add webhook' }).click()
      await page.getByText('Choose at least one kind of event.').waitFor()
      assert.equal(
        tab.requests.slice(requests).filter((r) => new URL(r).pathname === '/webhooks/').length,
        0,
        'nothing was sent',
      )

      await page.getByLabel('All events, including new kinds').check()
      await url.fill('http://hooks.example.com/usersvc')
      await page.getByRole('button', { name: 'Add webhook' }).click()
      assert.equal(
        await fieldError(url),
        'Use an https URL (plain http only to this machine: localhost or 127.0.0.1).',
      )
      await page.getByLabel('Language').selectOption('ru')
      assert.equal(
        await fieldError(page.getByLabel('URL', { exact: true })),
        'Нужен URL с https (простой http — только на эту машину: localhost или 127.0.0.1).',
      )
      await page.getByText('Вебхуков пока нет.').waitFor()
    },
    { ownChecks: true },
  )
  assert.deepEqual(opened.problems, [])
})

test('a user who is not an admin has no Webhooks: no link, and the address says so', async (t) => {
  const web = await serve(t)
  await register(web.app, 'plain')
  const opened = await inTab(browser(), web, async (tab) => {
    const { page } = tab
    await signInUi(tab, 'plain')
    assert.equal(await page.getByRole('link', { name: 'Webhooks' }).count(), 0)
    await openApp(tab, '#/webhooks')
    await heading(page, 'Webhooks').waitFor()
    await page.getByText('Only administrators can manage webhooks.').waitFor()
  })
  assert.equal(
    opened.requests.filter((url) => new URL(url).pathname.startsWith('/webhooks')).length,
    0,
  )
})
