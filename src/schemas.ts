import Type from 'typebox'
import { catalogue, type ErrorCode, FIELD_CODES } from './errors.ts'

// Schema pieces every route shares: validation, response allow-lists and OpenAPI from one source.
// Each capability's own pieces (a login, a password, a user) live in its folder.

export const Uuid = Type.String({ format: 'uuid' })

export const NoContent = Type.Null({ description: 'No content' })

/** A 202: the work goes on after the answer, which says what comes next. */
export const Accepted = Type.Object(
  { detail: Type.String() },
  { description: 'Accepted; what happens next' },
)

/** The OpenAPI security requirement of routes that take a Bearer access token. */
export const bearerAuth = [{ bearerAuth: [] }]

export const FieldErrorSchema = Type.Object({
  field: Type.String(),
  code: Type.Enum([...FIELD_CODES]),
  message: Type.String(),
  limit: Type.Optional(
    Type.Number({
      description:
        'The bound the value missed (too_short, too_long: characters or items; out_of_range: the minimum or maximum)',
    }),
  ),
})

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ format: 'uri-reference' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    code: Type.Enum(Object.keys(catalogue)),
    errors: Type.Optional(Type.Array(FieldErrorSchema)),
  },
  { description: 'RFC 9457 problem document' },
)

/** A response entry whose body is a problem document, under its own media type. */
function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: ProblemSchema } } }
}

/** Every route answers errors with a problem document. */
export const problemResponses = {
  '4xx': problemResponse('Problem document'),
  '5xx': problemResponse('Problem document (nothing internal)'),
}

// What every route may answer: a malformed, slow or oversized request head, an outage, a bug.
const ALWAYS: ErrorCode[] = [
  'bad_request',
  'method_not_allowed',
  'request_timeout',
  'headers_too_large',
  'internal',
  'unavailable',
]
// What every route with a JSON body may answer besides.
export const BODY_ERRORS: ErrorCode[] = [
  'malformed_json',
  'unsupported_media_type',
  'payload_too_large',
  'validation_failed',
]

/**
 * Problem responses by status, each naming the codes a route can answer with (for OpenAPI and
 * its readers), plus 4xx/5xx fallbacks so no error leaves without the allow-list.
 */
export function problems(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of new Set([...codes, ...ALWAYS])) {
    const { status } = catalogue[code]
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  const entries = [...byStatus].map(([status, list]) => [
    status,
    problemResponse(`Problem document; code: ${list.map((c) => `\`${c}\``).join(', ')}`),
  ])
  return { ...Object.fromEntries(entries), ...problemResponses } as typeof problemResponses
}
