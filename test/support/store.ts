// What the app's database holds, read directly (as only an insider could).
import type { App } from '../../src/app.ts'

export async function userExists(app: App, id: string): Promise<boolean> {
  const row = await app.store.db
    .selectFrom('users')
    .select('id')
    .where('id', '=', id)
    .executeTakeFirst()
  return row !== undefined
}

export async function userCount(app: App): Promise<number> {
  return (await app.store.db.selectFrom('users').select('id').execute()).length
}

/** Refresh tokens of every user, revoked or not. */
export async function refreshTokenCount(app: App): Promise<number> {
  return (await app.store.db.selectFrom('refresh_tokens').select('id').execute()).length
}

/** The ids of the user's refresh tokens that are not revoked (its live sessions). */
export async function liveRefreshTokens(app: App, userId: string): Promise<string[]> {
  const rows = await app.store.db
    .selectFrom('refresh_tokens')
    .select('id')
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute()
  return rows.map((row) => row.id)
}

/** The user's password hash as stored. */
export async function storedHash(app: App, id: string): Promise<string> {
  const row = await app.store.db
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
  return row.password_hash
}
