/**
 * Rows per multi-row INSERT: with the widest bulk table (users, 12 values a row) a statement binds
 * 6,000 values, well under SQLite's 32,766 and PostgreSQL's 65,535.
 */
export const ROWS_PER_INSERT = 500

/** `items` in slices of `size` (the last one shorter), for bulk statements with bounded bindings. */
export function chunks<T>(items: readonly T[], size = ROWS_PER_INSERT): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  )
}
