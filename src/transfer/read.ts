import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { parse } from 'csv-parse'
import type { Refused } from './importer.ts'

export const FORMATS = ['jsonl', 'csv'] as const
export type Format = (typeof FORMATS)[number]

/** A record as read, numbered by its line, or a line that is not a record at all. */
export type ReadItem = { index: number; raw: unknown } | Refused

/** The format a file name says (`.csv`, else JSON Lines: `.jsonl`, `.ndjson`, `.json`, `-`). */
export function formatOf(name: string): Format {
  return /\.csv$/i.test(name) ? 'csv' : 'jsonl'
}

/** JSON Lines: one object a line; blank lines are allowed. Streamed, line by line. */
async function* jsonLines(input: Readable): AsyncGenerator<ReadItem> {
  let line = 0
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++
    if (text.trim() === '') continue
    try {
      yield { index: line, raw: JSON.parse(text) }
    } catch {
      yield { index: line, reason: 'invalid_json', detail: 'the line is not one JSON value' }
    }
  }
}

// CSV cells are text: empty means absent, a boolean column says true/false (or 1/0), and a
// password_hash that starts with `{` is a structured digest written as JSON.
function fromCsv(row: Record<string, string>): Record<string, unknown> | undefined {
  const record: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(row)) {
    if (value === '') continue
    if (key === 'email_verified') {
      const flag = { true: true, '1': true, false: false, '0': false }[value.toLowerCase()]
      record[key] = flag ?? value
    } else if (key === 'password_hash' && value.startsWith('{')) {
      try {
        record[key] = JSON.parse(value)
      } catch {
        return undefined
      }
    } else {
      record[key] = value
    }
  }
  return record
}

/** CSV with a header row (RFC 4180). A row that cannot be read is reported, not fatal. */
async function* csvRows(input: Readable): AsyncGenerator<ReadItem> {
  const broken: Refused[] = []
  const parser = input.pipe(
    parse({
      columns: true,
      bom: true,
      skip_empty_lines: true,
      info: true,
      skip_records_with_error: true,
      on_skip: (error) => {
        const line = Number(error?.lines ?? 0)
        broken.push({ index: line, reason: 'invalid_csv', detail: error?.code ?? 'unreadable row' })
        return undefined
      },
    }),
  )
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<string, string>
    info: { lines: number }
  }>) {
    yield* broken.splice(0)
    const row = fromCsv(record)
    yield row
      ? { index: info.lines, raw: row }
      : { index: info.lines, reason: 'malformed_hash', detail: 'password_hash is not valid JSON' }
  }
  yield* broken.splice(0)
}

/** The records of an import file, in order, streamed: memory stays flat for any size. */
export function readRecords(input: Readable, format: Format): AsyncGenerator<ReadItem> {
  return format === 'csv' ? csvRows(input) : jsonLines(input)
}
