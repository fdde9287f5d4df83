import { createHash, timingSafeEqual } from 'node:crypto'
import type { Adapter, AdapterPayload } from 'oidc-provider'
import type { Db } from '../db/schema.ts'

const sha256 = (text: string) => createHash('sha256').update(text).digest()

/** The presented secret against its stored SHA-256 (base64url), in constant time. */
export function secretMatches(stored: string, presented: string): boolean {
  const expected = Buffer.from(stored, 'base64url')
  const actual = sha256(presented)
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}

/**
 * The library's `Client` model on oauth_clients: read-only (clients are added by the CLI and the
 * admin API). The stored SHA-256 stands in for `client_secret`; compareClientSecret checks it.
 */
export function clientAdapter(db: Db): Adapter {
  const refuse = async () => {
    throw new Error('clients are registered through usersvc, not the provider')
  }
  return {
    async find(id) {
      const row = await db
        .selectFrom('oauth_clients')
        .select(['metadata', 'secret_hash', 'first_party'])
        .where('client_id', '=', id)
        .executeTakeFirst()
      if (!row) return undefined
      const metadata = JSON.parse(row.metadata) as AdapterPayload
      return {
        ...metadata,
        ...(row.secret_hash ? { client_secret: row.secret_hash } : {}),
        first_party: row.first_party === 1 || (row.first_party as unknown) === true,
      }
    },
    upsert: refuse,
    findByUid: refuse,
    findByUserCode: refuse,
    consume: refuse,
    destroy: refuse,
    revokeByGrantId: refuse,
  }
}
