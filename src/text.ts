// Unicode normalisation in one place: registration, login and the password policy must agree.

export function nfkc(text: string): string {
  return text.normalize('NFKC')
}

/**
 * NFKC + case folding (an approximation of Unicode's NFKC_Casefold): upper- then lower-casing
 * folds ß→ss and ς→σ, which toLowerCase alone does not.
 */
export function fold(text: string): string {
  return nfkc(nfkc(text).toUpperCase().toLowerCase())
}

export function codePoints(text: string): number {
  let count = 0
  for (const _ of text) count++
  return count
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value)
}
