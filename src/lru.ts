/** A map that keeps at most `size` entries, forgetting the least recently used first. */
export function lru<K, V>(size: number) {
  const entries = new Map<K, V>()
  return {
    get(key: K): V | undefined {
      const value = entries.get(key)
      if (value !== undefined) {
        entries.delete(key)
        entries.set(key, value) // most recently used last
      }
      return value
    },
    set(key: K, value: V): void {
      entries.delete(key)
      if (entries.size >= size) entries.delete(entries.keys().next().value as K)
      entries.set(key, value)
    },
    clear: () => entries.clear(),
  }
}
