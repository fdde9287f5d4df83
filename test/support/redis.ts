// The test Redis server, and reading keys off a Redis that may be shared.
import type { Redis } from 'ioredis'

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Every key under `prefix` (as `prefix:…`), by SCAN (never KEYS: a server may be shared), sorted. */
export async function scanKeys(client: Redis, prefix: string): Promise<string[]> {
  const found = new Set<string>()
  let cursor = '0'
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    cursor = next
    for (const key of batch) found.add(key)
  } while (cursor !== '0')
  return [...found].sort()
}
