import type { Adapter, AdapterPayload } from 'oidc-provider'
import type { Db } from '../db/schema.ts'
import { clientsRepository } from './clients/repository.ts'

/**
 * The library's `Client` model on oauth_clients: read-only (clients are added by the CLI and the
 * admin API). The stored SHA-256 stands in for `client_secret`; the provider's
 * compareClientSecret checks a presented secret against it (provider.ts).
 */
export function clientAdapter(db: Db): Adapter {
  const clients = clientsRepository(db)
  const refuse = async () => {
    throw new Error('clients are registered through usersvc, not the provider')
  }
  return {
    async find(id) {
      const client = await clients.find(id)
      if (!client) return undefined
      return {
        ...(client.metadata as AdapterPayload),
        ...(client.secretHash ? { client_secret: client.secretHash } : {}),
        first_party: client.firstParty,
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
