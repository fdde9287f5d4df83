import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../src/app.ts'
import { type Account, Accounts } from '../support/fuzz/accounts.ts'
import { bodyClass } from '../support/fuzz/bodies.ts'
import { sym } from '../support/fuzz/requests.ts'
import { toRequest } from '../support/fuzz/routes.ts'
import { type Req, send, show } from '../support/fuzz/send.ts'
import {
  assertSameStore,
  assertSessionCreated,
  assertUserCreated,
  type StoreSnapshot,
  snapshot,
} from '../support/fuzz/store.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertClientError } from '../support/problems.ts'
import { PASSWORD, USER_FIELDS } from '../support/requests.ts'

// Property-based tests of whole requests: any method, path, query string, content type, body
// and Authorization header, on every endpoint.

/** The success codes each method may answer with (the routes.ts files), and only these. */
const SUCCESS: Record<string, number[]> = {
  GET: [200],
  HEAD: [200],
  POST: [200, 201, 202],
  PUT: [200],
  DELETE: [204],
}

function parsedFields(req: Req): Record<string, unknown> | undefined {
  const payload = req.payload
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return undefined
  const parsed = bodyClass(Buffer.from(payload))
  return parsed.kind === 'parsed' && typeof parsed.value === 'object' && parsed.value !== null
    ? (parsed.value as Record<string, unknown>)
    : undefined
}

/** The path names /session (however it is spelled: the router decodes percent-escapes). */
function isSessionPath(url: string): boolean {
  const path = url.split('?')[0] ?? ''
  let decoded = path
  try {
    decoded = decodeURIComponent(path)
  } catch {}
  return /(^|\/)session\/?$/.test(decoded)
}

async function judge(
  app: App,
  accounts: Accounts,
  req: Req,
  actor: Account | undefined,
  res: LightMyRequestResponse,
  before: StoreSnapshot,
  what: string,
) {
  const after = await snapshot(app)
  const where = `${what} → ${res.statusCode} ${res.body.slice(0, 400)}`
  assert.ok(res.statusCode < 500, `a 5xx: ${where}`)
  if (res.statusCode >= 400) {
    assertClientError(res, req.method, what)
    assertSameStore(before, after, what)
    return
  }
  assert.ok(SUCCESS[req.method]?.includes(res.statusCode), `an undocumented success: ${where}`)
  const fields = parsedFields(req)
  if (res.statusCode === 201) {
    assertUserCreated(before, after, res, fields?.login as string, what)
    return
  }
  if (res.statusCode === 202) {
    // A recovery request or a new verification code: only the outbox and the codes change.
    assertSameStore(before, after, what)
    return
  }
  if (req.method === 'PUT') {
    // PUT /user/me/email with the right password: the caller's address, and nothing else.
    assert.ok(actor && fields?.password === PASSWORD, `a change without the password: ${where}`)
    assert.equal(res.json().id, actor.id, where)
    const others = (s: StoreSnapshot) => ({
      ...s,
      users: s.users.filter((u) => u.id !== actor.id),
    })
    assertSameStore(others(before), others(after), `another user changed: ${where}`)
    return
  }
  if (req.method === 'POST') {
    // 200: a login. Only alice and root have passwords this test knows; nobody refreshes.
    const login = String(fields?.login ?? '').toLowerCase()
    const account = [accounts.alice, accounts.root].find((a) => a.login === login)
    assert.ok(account && fields?.password === PASSWORD, `a login with a wrong password: ${where}`)
    assertSessionCreated(before, after, res, account.id, what)
    return
  }
  if (req.method === 'DELETE') {
    assert.equal(res.body, '', where)
    if (isSessionPath(req.url)) {
      // A logout: the refresh tokens sent here are never real ones.
      assertSameStore(before, after, what)
      return
    }
    // DELETE /user/{id}: 204 means that user is gone.
    const removed = before.users.filter((u) => !after.users.some((a) => a.id === u.id))
    assert.equal(removed.length, 1, `several users deleted: ${where}`)
    const gone = removed[0]?.id as string
    assert.ok(actor, `a user deleted without a valid token: ${where}`)
    assert.ok(actor.id === gone || actor.role === 'admin', `deleted someone else: ${where}`)
    assertSameStore(
      {
        ...before,
        users: before.users.filter((u) => u.id !== gone),
        refresh_tokens: before.refresh_tokens.filter((t) => t.user_id !== gone),
      },
      after,
      `more than the user and its refresh tokens changed: ${where}`,
    )
    await accounts.restore()
    return
  }
  // GET and HEAD read only.
  assertSameStore(before, after, what)
  if (req.method === 'HEAD') {
    assert.equal(res.body, '', where)
    return
  }
  const type = String(res.headers['content-type'])
  if (!type.startsWith('application/json')) {
    // The web pages and their assets (web/): public, the same for everyone.
    assert.match(type, /^(text\/html|text\/css|application\/javascript)/, where)
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/, where)
    return
  }
  const body = res.json() as Record<string, unknown>
  if ('openapi' in body) {
    assert.equal(body.openapi, '3.1.0', where)
  } else if ('min_length' in body) {
    assert.equal(typeof body.max_length, 'number', where)
  } else if ('id' in body) {
    assert.ok(actor, `a user's data without a valid token: ${where}`)
    assert.ok(actor.id === body.id || actor.role === 'admin', `another user's data: ${where}`)
    assert.deepEqual(Object.keys(body).sort(), USER_FIELDS, where)
  } else if ('items' in body && (body.items as unknown[]).some((item) => isSession(item))) {
    // The caller's own sessions: the one of its token among them.
    assert.ok(actor, `sessions without a valid token: ${where}`)
    const items = body.items as Array<{ current: boolean }>
    assert.equal(items.filter((item) => item.current).length, 1, where)
  } else if ('recovery_codes_remaining' in body) {
    assert.ok(actor, `factors without a valid token: ${where}`)
    assert.equal(typeof body.recovery_codes_remaining, 'number', where)
  } else if ('items' in body) {
    assert.equal(actor?.role, 'admin', `the user list without an admin token: ${where}`)
  } else if ('keys' in body) {
    assert.ok(Array.isArray(body.keys) && body.keys.length > 0, where)
    for (const key of body.keys as Array<Record<string, unknown>>) assert.ok(!('d' in key), where)
  } else {
    assert.equal(body.status, 'ok', `an unknown 200: ${where}`)
  }
}

const isSession = (item: unknown) =>
  typeof item === 'object' && item !== null && 'current' in item && 'aal' in item

async function fuzz(app: App, accounts: Accounts, numRuns: number) {
  await fc.assert(
    fc.asyncProperty(sym, async (s) => {
      const { req, actor } = toRequest(s, accounts)
      const what = `${show(req)} as ${actor ? actor.login : 'nobody'}`
      const before = await snapshot(app)
      const res = await send(app, req)
      await judge(app, accounts, req, actor, res, before, what)
    }),
    { numRuns },
  )
}

describe('fuzzing whole requests', () => {
  test('any method, path, query, content type, body and Authorization (sqlite): documented success or a 4xx problem; refusals change nothing', async (t) => {
    const { app } = await makeApp(t)
    await fuzz(app, await new Accounts(app).init(), 3000)
  })

  for (const dialect of dialects()) {
    test(`the same, fewer runs (${dialect})`, async (t) => {
      const { app } = await makeApp(t, { dialect })
      await fuzz(app, await new Accounts(app).init(), 300)
    })
  }

  test('the judge can fail: a deleted user with no token behind it is caught', async (t) => {
    const { app } = await makeApp(t)
    const accounts = await new Accounts(app).init()
    const before = await snapshot(app)
    await app.store.db.deleteFrom('users').where('id', '=', accounts.alice.id).execute()
    const fake = { statusCode: 204, body: '', headers: {} } as LightMyRequestResponse
    const req: Req = { method: 'DELETE', url: `/user/${accounts.alice.id}` }
    await assert.rejects(
      judge(app, accounts, req, undefined, fake, before, 'forged'),
      /a user deleted without a valid token/,
    )
  })
})
