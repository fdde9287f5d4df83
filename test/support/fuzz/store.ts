// The whole store of an app as rows, and what a request may (or may not) have changed in it.
import assert from 'node:assert/strict'
import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../../src/app.ts'
import { USER_FIELDS } from '../requests.ts'

export interface StoreSnapshot {
  users: Array<Record<string, unknown>>
  refresh_tokens: Array<Record<string, unknown>>
  signing_keys: Array<Record<string, unknown>>
}

/** Every row of every table, in a stable order. */
export async function snapshot(app: App): Promise<StoreSnapshot> {
  const { db } = app.store
  const [users, refreshTokens, signingKeys] = await Promise.all([
    db.selectFrom('users').selectAll().orderBy('id').execute(),
    db.selectFrom('refresh_tokens').selectAll().orderBy('id').execute(),
    db.selectFrom('signing_keys').selectAll().orderBy('kid').execute(),
  ])
  return { users, refresh_tokens: refreshTokens, signing_keys: signingKeys }
}

export function counts(s: StoreSnapshot): string {
  return `users=${s.users.length} refresh_tokens=${s.refresh_tokens.length} signing_keys=${s.signing_keys.length}`
}

export function assertSameStore(before: StoreSnapshot, after: StoreSnapshot, what: string) {
  assert.equal(counts(after), counts(before), `row counts changed: ${what}`)
  assert.deepEqual(after, before, `rows changed: ${what}`)
}

/** A 201 from POST /user/: one new user row, as the body says, and nothing else changed. */
export function assertUserCreated(
  before: StoreSnapshot,
  after: StoreSnapshot,
  res: LightMyRequestResponse,
  login: string | undefined,
  what: string,
) {
  const where = `${what} → ${res.statusCode} ${res.body}`
  assert.match(String(res.headers['content-type']), /^application\/json/, where)
  const body = res.json() as { id: string; login: string; role: string }
  assert.deepEqual(Object.keys(body).sort(), USER_FIELDS, where)
  assert.equal(body.role, 'user', where)
  if (login !== undefined) assert.equal(body.login, login, where)
  assert.equal(res.headers.location, `/user/${body.id}`, where)
  assert.equal(after.users.length, before.users.length + 1, `${counts(after)}: ${where}`)
  const added = after.users.filter((u) => !before.users.some((b) => b.id === u.id))
  assert.equal(added.length, 1, where)
  assert.equal(added[0]?.id, body.id, where)
  assert.equal(added[0]?.login, body.login, where)
  assert.equal(added[0]?.role, 'user', where)
  assertSameStore(
    { ...before, users: [] },
    { ...after, users: [] },
    `other tables after a registration: ${where}`,
  )
}

/** A 200 from POST /session/: one new refresh token of `userId`, nothing else changed. */
export function assertSessionCreated(
  before: StoreSnapshot,
  after: StoreSnapshot,
  res: LightMyRequestResponse,
  userId: string,
  what: string,
) {
  const where = `${what} → ${res.statusCode} ${res.body.slice(0, 300)}`
  const body = res.json() as { user: { id: string }; token_type: string }
  assert.equal(body.token_type, 'Bearer', where)
  assert.equal(body.user.id, userId, where)
  assert.equal(after.refresh_tokens.length, before.refresh_tokens.length + 1, where)
  const added = after.refresh_tokens.filter(
    (t) => !before.refresh_tokens.some((b) => b.id === t.id),
  )
  assert.equal(added.length, 1, where)
  assert.equal(added[0]?.user_id, userId, where)
  assertSameStore(
    { ...before, refresh_tokens: before.refresh_tokens.filter((t) => t.id !== added[0]?.id) },
    { ...after, refresh_tokens: after.refresh_tokens.filter((t) => t.id !== added[0]?.id) },
    `other rows after a login: ${where}`,
  )
}
