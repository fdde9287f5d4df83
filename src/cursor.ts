import { invalidField } from './errors.ts'
import { isUuid } from './text.ts'

// Cursors of lists paged by id are opaque to clients (base64url of the last id), so the paging
// key may change without breaking them.

export const encodeIdCursor = (id: string): string => Buffer.from(id).toString('base64url')

/** The id a cursor of ours holds; 422 validation_failed for anything else. */
export function decodeIdCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString()
  if (isUuid(id)) return id
  throw invalidField('cursor', 'invalid_format', 'is not a cursor this service gave out')
}
