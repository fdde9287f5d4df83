import type { Db } from '../db/schema.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import type { Factor } from './types.ts'

/** factor.added or factor.removed: which factor, never its secret or key. */
export function recordFactorEvent(
  trx: Db,
  events: RecordEvent,
  type: 'factor.added' | 'factor.removed',
  factor: Pick<Factor, 'id' | 'userId' | 'type' | 'name'>,
  at: Date,
) {
  const data = { factor_id: factor.id, factor_type: factor.type, name: factor.name }
  return events(trx, { type, userId: factor.userId, at, data })
}
