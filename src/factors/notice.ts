import type { Db } from '../db/schema.ts'

/**
 * Where a notice about the account goes: its address once verified, else nowhere (an unverified
 * address may be anyone's). Read here until users/ has the email fields (the email feature).
 */
export async function noticeAddress(
  db: Db,
  userId: string,
): Promise<{ to: string; login: string } | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['login', 'email', 'email_verified_at'])
    .where('id', '=', userId)
    .executeTakeFirst()
  if (!row?.email || row.email_verified_at === null) return undefined
  return { to: row.email, login: row.login }
}
