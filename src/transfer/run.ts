import type { Importer, Refused, Skipped } from './importer.ts'
import type { ReadItem } from './read.ts'

/** Records per transaction: short enough that a running service's writes interleave. */
export const BATCH_SIZE = 500

export interface Totals {
  read: number
  imported: number
  /** Imported with a weak hash (--allow-weak). */
  weak: number
  skipped: number
  refused: number
}

export interface RunHooks {
  refused?(refusal: Refused): void
  skipped?(skip: Skipped): void
  /** After each batch, with the totals so far. */
  progress?(totals: Totals): void
}

/** Feeds a stream of records through an importer batch by batch; memory holds one batch. */
export async function runImport(
  items: AsyncIterable<ReadItem> | Iterable<ReadItem>,
  importer: Importer,
  hooks: RunHooks = {},
): Promise<Totals> {
  const totals: Totals = { read: 0, imported: 0, weak: 0, skipped: 0, refused: 0 }
  let batch: { index: number; raw: unknown }[] = []
  const flush = async () => {
    const report = await importer.batch(batch)
    batch = []
    totals.imported += report.imported
    totals.weak += report.weak ?? 0
    totals.skipped += report.skipped.length
    totals.refused += report.refused.length
    for (const refusal of report.refused) hooks.refused?.(refusal)
    for (const skip of report.skipped) hooks.skipped?.(skip)
    hooks.progress?.(totals)
  }
  for await (const item of items) {
    totals.read++
    if ('reason' in item) {
      totals.refused++
      hooks.refused?.(item)
      continue
    }
    batch.push(item)
    if (batch.length >= BATCH_SIZE) await flush()
  }
  if (batch.length > 0) await flush()
  return totals
}
