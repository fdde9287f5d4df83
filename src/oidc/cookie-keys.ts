import { randomBytes } from 'node:crypto'
import type { Db } from '../db/schema.ts'
import type { Sealer } from '../tokens/sealing.ts'

// The provider signs its cookies (its browser session, an interaction in progress). Every
// instance needs the same key, and it must outlive signing-key rotations, or each rotation would
// end every sign-in under way: one random key, made once, kept in the provider's own table.
const MODEL = 'CookieKey'
const ID = 'current'
const SEALED_TYPE = 'oidc-cookie-key'

/** A JWE (compact, with dots) when sealed; base64url never has a dot. */
const isSealed = (stored: string) => stored.includes('.')

/** The key (made by the first instance to ask; the others read it), opened. */
export async function cookieKey(db: Db, sealer: Sealer): Promise<string> {
  const sealed = await sealer.seal(ID, randomBytes(32).toString('base64url'), SEALED_TYPE)
  await db
    .insertInto('oidc_payloads')
    .values({ model: MODEL, id: ID, payload: sealed })
    .onConflict((oc) => oc.columns(['model', 'id']).doNothing())
    .execute()
  const { payload } = await db
    .selectFrom('oidc_payloads')
    .select('payload')
    .where('model', '=', MODEL)
    .where('id', '=', ID)
    .executeTakeFirstOrThrow()
  return isSealed(payload) ? sealer.open(ID, payload, SEALED_TYPE) : payload
}
