import type { Db } from '../db/schema.ts'
import { exportedHash } from '../passwords/foreign/index.ts'
import { transferRepository } from './repository.ts'

const PAGE = 1000

/**
 * Every user as a JSON line that `usersvc import` takes back: the stored hash (argon2id in PHC
 * form, or a foreign one its owner has not yet replaced by logging in). Streamed page by page.
 */
export async function* exportUsers(db: Db): AsyncGenerator<string> {
  const users = transferRepository(db)
  let after: string | undefined
  for (;;) {
    const page = await users.exportPage(after, PAGE)
    for (const user of page) {
      yield `${JSON.stringify({
        id: user.id,
        login: user.login,
        email: user.email,
        email_verified: user.emailVerified,
        role: user.role,
        registered_at: user.registeredAt.toISOString(),
        password_hash: exportedHash(user.passwordHash),
      })}\n`
    }
    if (page.length < PAGE) return
    after = page.at(-1)?.id
  }
}
