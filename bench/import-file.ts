// The import benchmark's input: a JSON Lines file of `count` pre-hashed users with distinct
// logins and addresses, as an export from another system would give them.

import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { PASSWORD } from './config.ts'
import { IMPORT_MIX } from './foreign.ts'

const LINES_PER_WRITE = 5_000

/** Writes the file; returns the number of records per scheme. */
export async function writeImportFile(
  path: string,
  count: number,
): Promise<Record<string, number>> {
  // One hash per scheme, made once and reused: the import checks and stores hashes, it never
  // computes one, so hashing here would only slow the set-up.
  const hashes = await Promise.all(IMPORT_MIX.map(({ scheme }) => scheme.make(PASSWORD)))
  // Scheme of record i by its share, interleaved (every 20 records hold each share's part).
  const slots: number[] = []
  IMPORT_MIX.forEach(({ share }, s) => {
    for (let k = 0; k < Math.round(share * 20); k++) slots.push(s)
  })
  const perScheme: Record<string, number> = {}
  const out = createWriteStream(path)
  const registered = Date.parse('2019-01-01T00:00:00Z')
  let lines: string[] = []
  for (let i = 0; i < count; i++) {
    const s = slots[i % slots.length] as number
    const name = (IMPORT_MIX[s] as (typeof IMPORT_MIX)[number]).scheme.name
    perScheme[name] = (perScheme[name] ?? 0) + 1
    lines.push(
      JSON.stringify({
        login: `imported.user${i}`,
        email: `imported.user${i}@example.com`,
        email_verified: i % 3 !== 0,
        registered_at: new Date(registered + i * 60_000).toISOString(),
        password_hash: hashes[s],
      }),
    )
    if (lines.length === LINES_PER_WRITE || i === count - 1) {
      if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain')
      lines = []
    }
  }
  out.end()
  await once(out, 'finish')
  return perScheme
}
