import { hash } from 'node:crypto'

/** A key's 64 bits: two words of its SHA-1, the low one never 0 (a zero marks an empty slot). */
export type Fingerprint = readonly [high: number, low: number]

export function fingerprint(key: string): Fingerprint {
  const digest = hash('sha1', key, 'buffer')
  return [digest.readUInt32LE(0), (digest.readUInt32LE(4) | 1) >>> 0]
}

/**
 * The keys an import has met so far (logins, addresses, ids), to refuse a duplicate inside one
 * file of any size. It keeps a 64-bit fingerprint per key in typed arrays, about 16 bytes a key,
 * not the keys themselves: a million users cost tens of MB, not hundreds. Two different keys
 * share a fingerprint with odds of about n²/2⁶⁵ (3·10⁻⁸ for a million), and the cost of that is
 * one record wrongly reported as a duplicate, never a wrong import.
 */
export class SeenKeys {
  #high = new Uint32Array(1024)
  #low = new Uint32Array(1024)
  #size = 0

  /** Adds a key's fingerprint (made once: a key is looked up, then added); false when there. */
  add([high, low]: Fingerprint): boolean {
    if (this.#find(high, low)) return false
    if ((this.#size + 1) * 2 > this.#low.length) this.#grow()
    this.#put(high, low)
    this.#size++
    return true
  }

  has([high, low]: Fingerprint): boolean {
    return this.#find(high, low)
  }

  #find(high: number, low: number): boolean {
    const mask = this.#low.length - 1
    for (let i = high & mask; this.#low[i] !== 0; i = (i + 1) & mask) {
      if (this.#low[i] === low && this.#high[i] === high) return true
    }
    return false
  }

  #put(high: number, low: number): void {
    const mask = this.#low.length - 1
    let i = high & mask
    while (this.#low[i] !== 0) i = (i + 1) & mask
    this.#high[i] = high
    this.#low[i] = low
  }

  #grow(): void {
    const [high, low] = [this.#high, this.#low]
    this.#high = new Uint32Array(high.length * 2)
    this.#low = new Uint32Array(low.length * 2)
    for (let i = 0; i < low.length; i++) {
      if (low[i] !== 0) this.#put(high[i] as number, low[i] as number)
    }
  }
}
