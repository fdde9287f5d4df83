// The one check of an RFC 9457 problem document, and the WWW-Authenticate challenges.
import assert from 'node:assert/strict'
import { catalogue, type ErrorCode } from '../../src/errors.ts'

export const PROBLEM_JSON = 'application/problem+json; charset=utf-8'
/** WWW-Authenticate when no Bearer token was given. */
export const BEARER_CHALLENGE = 'Bearer realm="usersvc"'
/** WWW-Authenticate when a Bearer token was given and refused. */
export const INVALID_TOKEN_CHALLENGE = 'Bearer realm="usersvc", error="invalid_token"'

const PROBLEM_KEYS = ['code', 'detail', 'errors', 'status', 'title', 'type']
/** Field error codes that name the bound (`limit`) the value missed. */
const BOUNDED = ['too_short', 'too_long', 'out_of_range']

/** An answer as app.inject gives it, or as a test's own HTTP client reads it. */
export interface Answer {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
}

export interface ProblemOptions {
  /** The request's method: a HEAD answer has the headers of the problem and no body. */
  method?: string
  /** Made by nginx itself (deploy/nginx): its content type has no charset, its 405 no Allow. */
  byNginx?: boolean
}

/**
 * An RFC 9457 problem document of the catalogue, with `status` and `code`: the content type
 * (and nosniff), only the known keys, the code's own title, status and type, `detail` a string,
 * `errors` a list of well-formed field errors; and the header a 401, 405 or 429 calls for.
 * Returns the document (undefined for HEAD).
 */
export function assertProblem(
  res: Answer,
  status: number,
  code: string,
  what?: string,
  options: ProblemOptions = {},
) {
  const where = `${what === undefined ? '' : `${what} → `}${res.statusCode} ${res.body.slice(0, 500)}`
  assert.equal(res.statusCode, status, where)
  const contentType = options.byNginx ? 'application/problem+json' : PROBLEM_JSON
  assert.equal(res.headers['content-type'], contentType, where)
  assert.equal(res.headers['x-content-type-options'], 'nosniff', where)
  // Only a 401 about the access token carries a Bearer challenge (RFC 6750 §3).
  if (code === 'invalid_token')
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="usersvc"/, where)
  else assert.equal(res.headers['www-authenticate'], undefined, where)
  // nginx's own 405 (TRACE, refused by its parser) cannot know a path's methods: no Allow.
  if (status === 405 && !options.byNginx)
    assert.ok(String(res.headers.allow ?? '').length > 0, where)
  if (status === 429) assert.match(String(res.headers['retry-after']), /^\d+$/, where)
  assert.ok(Object.hasOwn(catalogue, code), `${code} is not in the catalogue: ${where}`)
  const entry = catalogue[code as ErrorCode]
  assert.equal(entry.status, status, `${code} is a ${entry.status} in the catalogue: ${where}`)
  if (options.method?.toUpperCase() === 'HEAD') {
    assert.equal(res.body, '', where)
    return undefined
  }

  const problem = JSON.parse(res.body)
  for (const key of Object.keys(problem)) assert.ok(PROBLEM_KEYS.includes(key), `${key}: ${where}`)
  assert.equal(problem.code, code, where)
  assert.equal(problem.status, status, where)
  assert.equal(problem.title, entry.title, where)
  assert.equal(problem.type, `/problems/${code}`, where)
  if ('detail' in problem) assert.equal(typeof problem.detail, 'string', where)
  if ('errors' in problem) {
    assert.ok(Array.isArray(problem.errors) && problem.errors.length > 0, where)
    for (const error of problem.errors as Array<Record<string, unknown>>) {
      const keys = Object.keys(error).sort()
      assert.deepEqual(
        keys.filter((k) => k !== 'limit'),
        ['code', 'field', 'message'],
        where,
      )
      // A bound is named exactly where a length or range rule failed.
      const bounded = BOUNDED.includes(String(error.code))
      assert.equal(typeof error.limit === 'number', bounded, where)
    }
  }
  return problem
}

/**
 * A 4xx problem document of whatever code it names (for HEAD, which has no body: the first code
 * of that status), checked by assertProblem. Returns the code.
 */
export function assertClientError(res: Answer, method: string, what: string): string {
  // A HEAD (of a GET route) has no body; a 401 to one can only be about its token.
  const where = `${what} → ${res.statusCode} ${res.body.slice(0, 500)}`
  assert.ok(res.statusCode >= 400 && res.statusCode < 500, `not a 4xx: ${where}`)
  let code: string | undefined
  if (method.toUpperCase() === 'HEAD') {
    code =
      res.statusCode === 401
        ? 'invalid_token'
        : Object.entries(catalogue).find(([, v]) => v.status === res.statusCode)?.[0]
  } else {
    assert.equal(res.headers['content-type'], PROBLEM_JSON, where)
    code = (JSON.parse(res.body) as { code?: unknown }).code as string | undefined
  }
  assert.ok(code !== undefined, `no code: ${where}`)
  assertProblem(res, res.statusCode, code, what, { method })
  return code
}

/** 429 rate_limited with a whole-second Retry-After ≥ 1, and no credentials challenge; returns it. */
export function assertRateLimited(res: Answer, what: string): number {
  assertProblem(res, 429, 'rate_limited', what)
  const header = res.headers['retry-after']
  assert.match(String(header), /^[1-9]\d*$/, `${what}: retry-after ${header}`)
  // A 429 is not a credentials challenge.
  assert.equal(res.headers['www-authenticate'], undefined, what)
  return Number(header)
}
