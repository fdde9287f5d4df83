import Type, { type Static } from 'typebox'
import { catalogue, type ErrorCode } from '../errors.ts'

// Shared schema pieces: validation, response allow-lists, types and (later) OpenAPI from one source.

export const Uuid = Type.String({ format: 'uuid' })

export const NoContent = Type.Null({ description: 'No content' })

export const FieldErrorSchema = Type.Object({
  field: Type.String(),
  code: Type.String(),
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

export const UserSchema = Type.Object({
  id: Uuid,
  login: Type.String(),
  role: Type.Enum(['user', 'admin']),
  registered_at: Type.String({ format: 'date-time' }),
})
export type UserBody = Static<typeof UserSchema>

// Passwords are bounded here only to keep absurd inputs out; the policy (≤ 256 code points after
// NFKC) gives the real answer, and the 16 KiB body limit comes first anyway.
export const Password = Type.String({ minLength: 1, maxLength: 4096 })
export const Login = Type.String({ minLength: 1, maxLength: 1024 })
export const RefreshToken = Type.String({ minLength: 1, maxLength: 1024 })

export function userBody(user: {
  id: string
  login: string
  role: 'user' | 'admin'
  registeredAt: Date
}): UserBody {
  return {
    id: user.id,
    login: user.login,
    role: user.role,
    registered_at: user.registeredAt.toISOString(),
  }
}
