import { type Adapter, type AdapterFactory, type AdapterPayload, errors } from 'oidc-provider'
import type { Clock } from '../clock.ts'
import { type Db, toDate } from '../db/schema.ts'
import { oidcRepository, type StoredRow } from './repository.ts'

/**
 * The models whose rows a grant's revocation removes: the set the library's own adapter indexes
 * by grant (lib/adapters/memory_adapter.js `grantable`). An Interaction names its grant too, but
 * outlives a revocation there, and so here.
 */
export const GRANTABLE: readonly string[] = [
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]

const epochSeconds = (at: Date) => Math.floor(at.getTime() / 1000)

function toPayload(row: StoredRow | undefined): AdapterPayload | undefined {
  if (!row) return undefined
  const payload = JSON.parse(row.payload) as AdapterPayload
  // The library reads `consumed` as epoch seconds (memory_adapter.js consume; grant_source.js).
  if (row.consumed_at !== null) payload.consumed = epochSeconds(toDate(row.consumed_at))
  return payload
}

/**
 * oidc-provider's `adapter` (a factory, lib/helpers/initialize_adapter.js) on oidc_payloads. Expiry
 * follows our Clock rather than Date.now(), so a test that freezes the clock sees rows expire.
 */
export function oidcAdapter({ db, clock }: { db: Db; clock: Clock }): AdapterFactory {
  const rows = oidcRepository(db)
  return (model: string): Adapter => ({
    async upsert(id, payload, expiresIn) {
      const now = clock.now()
      await rows.upsert({
        model,
        id,
        payload: JSON.stringify(payload),
        grantId: GRANTABLE.includes(model) ? (payload.grantId ?? null) : null,
        uid: model === 'Session' ? (payload.uid ?? null) : null,
        userCode: payload.userCode ?? null,
        expiresAt:
          typeof expiresIn === 'number' ? new Date(now.getTime() + expiresIn * 1000) : null,
        // DeviceCode and others carry `consumed` in their payload when saved again.
        consumedAt: typeof payload.consumed === 'number' ? new Date(payload.consumed * 1000) : null,
      })
    },
    find: async (id) => toPayload(await rows.find(model, id, clock.now())),
    findByUid: async (uid) => toPayload(await rows.findBy(model, 'uid', uid, clock.now())),
    findByUserCode: async (userCode) =>
      toPayload(await rows.findBy(model, 'user_code', userCode, clock.now())),
    // Every caller checks `consumed` first (helpers/grant_source.js, grants/refresh_token.js,
    // authorization/respond.js), so a lost compare-and-set is a concurrent second use: it must not
    // go on to issue tokens. The first consumption's time stays.
    async consume(id) {
      if (!(await rows.consume(model, id, clock.now()))) {
        throw new errors.InvalidGrant(`${model} already consumed`)
      }
    },
    async destroy(id) {
      await rows.destroy(model, id)
    },
    async revokeByGrantId(grantId) {
      await rows.revokeByGrantId(GRANTABLE, grantId)
    },
  })
}
