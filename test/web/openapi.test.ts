// The API description: /openapi.json is valid OpenAPI 3.1 and complete (every route, every
// status of every route, every error code), and /docs shows it in Chromium from local assets.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, test } from 'node:test'
import { Validator } from '@seriousme/openapi-schema-validator'
import type { RouteOptions } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config/index.ts'
import { catalogue } from '../../src/errors.ts'
import { inTab, SETTLE_MS, screenshot, serve, type Tab, useBrowser } from '../support/browser.ts'
import { eventually } from '../support/eventually.ts'
import { TEST_ENV, tempDir } from '../support/harness.ts'

interface Operation {
  summary?: string
  security?: Record<string, string[]>[]
  responses: Record<
    string,
    { description?: string; content?: Record<string, { schema?: unknown }> }
  >
}
type Doc = {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { securitySchemes?: Record<string, { type: string; scheme?: string }> }
  info: { description?: string }
}

/** The app (not listening) with every route it registered, as Fastify saw them. */
async function appWithRoutes(t: Parameters<typeof tempDir>[0]) {
  const config = loadConfig({
    ...TEST_ENV,
    LOG_LEVEL: 'silent',
    DATABASE_URL: `sqlite:${join(await tempDir(t), 'usersvc.db')}`,
  })
  const app = buildApp({ config, logStream: new Writable({ write: (_c, _e, done) => done() }) })
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (route) => {
    routes.push(route)
  })
  t.after(() => app.close())
  await app.ready()
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  assert.equal(res.statusCode, 200)
  return { app, routes, doc: res.json() as Doc }
}

/** Documented routes: not hidden, HEAD aside (Fastify adds one to every GET). */
function documented(routes: RouteOptions[]) {
  return routes.flatMap((route) => {
    const schema = route.schema as
      | { hide?: boolean; response?: Record<string, unknown> }
      | undefined
    if (schema?.hide) return []
    return [route.method]
      .flat()
      .filter((method) => method !== 'HEAD')
      .map((method) => ({
        method: method.toLowerCase(),
        path: route.url.replace(/:(\w+)/g, '{$1}'),
        statuses: Object.keys(schema?.response ?? {}).map((s) => s.toUpperCase()),
      }))
  })
}

describe('GET /openapi.json', () => {
  test('is valid OpenAPI 3.1', async (t) => {
    const { doc } = await appWithRoutes(t)
    assert.match(doc.openapi, /^3\.1\./)
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>)
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2))
  })

  test('documents every route of the app, with every status its schema answers', async (t) => {
    const { routes, doc } = await appWithRoutes(t)
    const ours = documented(routes)
    // Sanity: the onRoute hook saw the app's routes, hidden ones included.
    assert.ok(ours.length >= 15, `routes seen: ${ours.length}`)
    assert.ok(routes.some((r) => r.url === '/docs' || r.url.startsWith('/docs/')))
    for (const { method, path, statuses } of ours) {
      const operation = doc.paths[path]?.[method]
      assert.ok(operation, `${method.toUpperCase()} ${path} is in /openapi.json`)
      assert.ok(operation.summary, `${method.toUpperCase()} ${path} has a summary`)
      assert.deepEqual(
        Object.keys(operation.responses).sort(),
        [...statuses].sort(),
        `${method.toUpperCase()} ${path}: the documented statuses are the ones the route answers`,
      )
      for (const [status, response] of Object.entries(operation.responses)) {
        assert.ok(response.description, `${method} ${path} ${status} has a description`)
        if (status !== '204') {
          const schemas = Object.values(response.content ?? {}).map((c) => c.schema)
          assert.ok(
            schemas.length > 0 && schemas.every(Boolean),
            `${method} ${path} ${status} has a body schema`,
          )
        }
      }
    }
    // And nothing documented that the app does not serve.
    const served = new Set(ours.map((r) => `${r.method} ${r.path}`))
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const method of Object.keys(operations)) {
        assert.ok(served.has(`${method} ${path}`), `${method} ${path} is a route of the app`)
      }
    }
  })

  test('names every error code of the catalogue, under its own status', async (t) => {
    const { doc } = await appWithRoutes(t)
    /** code → statuses under which some operation names it */
    const named = new Map<string, Set<string>>()
    for (const operations of Object.values(doc.paths)) {
      for (const operation of Object.values(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          for (const [, code] of (response.description ?? '').matchAll(/`(\w+)`/g)) {
            if (code) named.set(code, (named.get(code) ?? new Set()).add(status))
          }
        }
      }
    }
    for (const [code, { status }] of Object.entries(catalogue)) {
      assert.deepEqual(
        [...(named.get(code) ?? [])],
        [String(status)],
        `${code} is documented as ${status}`,
      )
      assert.ok(doc.info.description?.includes(`\`${code}\``), `${code} is in the error table`)
    }
    for (const code of named.keys())
      assert.ok(Object.hasOwn(catalogue, code), `${code} is a real code`)
  })

  test('has the bearer scheme, and every operation that can answer invalid_token uses it', async (t) => {
    const { doc } = await appWithRoutes(t)
    const scheme = doc.components.securitySchemes?.bearerAuth
    assert.equal(scheme?.type, 'http')
    assert.equal(scheme?.scheme, 'bearer')
    let secured = 0
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const needsToken = operation.responses['401']?.description?.includes('`invalid_token`')
        const uses = operation.security?.some((s) => 'bearerAuth' in s) ?? false
        assert.equal(uses, Boolean(needsToken), `${method} ${path}: security matches invalid_token`)
        if (uses) secured += 1
      }
    }
    assert.ok(secured >= 6, `operations with bearer security: ${secured}`)
  })
})

describe('/docs', () => {
  const browser = useBrowser()

  /** Opens /docs with every request outside this origin refused, as with no internet. */
  async function openDocs(tab: Tab, origin: string) {
    const foreign: string[] = []
    await tab.context.route('**/*', (route) => {
      const url = route.request().url()
      if (url.startsWith(`${origin}/`) || url.startsWith('data:')) return route.continue()
      foreign.push(url)
      return route.abort()
    })
    await tab.page.goto(`${origin}/docs`)
    // Swagger UI renders the whole document first: slow on a loaded machine (seen at 15 s in CI).
    await tab.page.locator('.opblock').first().waitFor({ timeout: 60_000 })
    return foreign
  }

  test('loads in Chromium from this service alone and shows every operation', async (t) => {
    const web = await serve(t)
    const doc = (await web.app.inject({ method: 'GET', url: '/openapi.json' })).json() as Doc
    const operations = Object.values(doc.paths).flatMap((ops) => Object.keys(ops)).length
    const tab = await inTab(
      browser(),
      web,
      async (tab) => {
        const { page } = tab
        const foreign = await openDocs(tab, web.origin)
        // The first operation is shown: the others may still be coming.
        const blocks = page.locator('.opblock')
        const shown = await eventually(() => blocks.count(), {
          what: `${operations} operations`,
          until: (count) => count === operations,
          timeoutMs: SETTLE_MS,
          lastOnTimeout: true,
        })
        assert.equal(shown, operations)
        for (const path of ['/user/', '/user/me/password', '/session/refresh', '/session/all']) {
          await page.locator('.opblock-summary-path', { hasText: path }).first().waitFor()
        }
        await page
          .getByRole('heading', { name: /usersvc/ })
          .first()
          .waitFor()
        await screenshot(page, 'docs')
        assert.deepEqual(foreign, [], 'no request left this origin')
      },
      { ownChecks: true },
    )
    assert.ok(tab.requests.length > 3, 'the docs page loaded its assets')
    for (const url of tab.requests) {
      assert.ok(url.startsWith(`${web.origin}/`) || url.startsWith('data:'), `same origin: ${url}`)
    }
    // Its assets are all there (a missing one would be listed).
    assert.deepEqual(
      tab.problems.filter((p) => p.startsWith('asset ') || p.startsWith('page error')),
      [],
    )
  })

  test('shows no console errors or CSP violations', async (t) => {
    const web = await serve(t)
    const tab = await inTab(browser(), web, (tab) => openDocs(tab, web.origin).then(() => {}), {
      ownChecks: true,
    })
    assert.deepEqual(tab.problems, [])
  })
})
