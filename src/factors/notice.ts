import type { Db } from '../db/schema.ts'
import { verifiedAddress } from '../users/email-address.ts'
import { userRepository } from '../users/repository.ts'

/** Where a notice about the account goes, read in the transaction of the change it tells of. */
export async function noticeAddress(
  db: Db,
  userId: string,
): Promise<{ to: string; login: string } | undefined> {
  const user = await userRepository(db).findById(userId)
  const to = user && verifiedAddress(user)
  return user && to ? { to, login: user.login } : undefined
}
