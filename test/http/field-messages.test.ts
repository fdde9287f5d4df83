// The `message` of each field error is the service's own English, never Ajv's ("must NOT have
// fewer than 1 characters", "must be string", "must match format ..."): for bodies, query strings
// and every keyword the schemas can fail on.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { AppError, type FieldError } from '../../src/errors.ts'
import { validatorCompiler } from '../../src/http/validation.ts'
import { makeApp } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { bearer, PASSWORD, signUpAdmin } from '../support/requests.ts'

// Ajv's own wording, which must not leak.
const AJV =
  /must NOT|must have|must match|must be (string|integer|number|boolean|object|array|null|equal|>|<)|must pass|must be one of the allowed|property name/

function fields(res: LightMyRequestResponse, what: string): FieldError[] {
  const problem = assertProblem(res, 422, 'validation_failed', what)
  assert.ok(problem.errors.length > 0, what)
  for (const error of problem.errors as FieldError[]) {
    assert.doesNotMatch(error.message, AJV, `${what}: ${JSON.stringify(error)}`)
  }
  return problem.errors
}

test('bad bodies and query strings on several routes: the service’s own messages', async (t) => {
  const { app } = await makeApp(t)
  const admin = await signUpAdmin(app, 'admin')
  const post = (url: string, payload: unknown) =>
    app.inject({ method: 'POST', url, payload: payload as object })

  assert.deepEqual(fields(await post('/user/', { login: 5, password: '', extra: 1 }), 'register'), [
    { field: 'extra', code: 'unknown_property', message: 'is not an allowed property' },
    { field: 'login', code: 'invalid_type', message: 'must be a string' },
    { field: 'password', code: 'too_short', message: 'must not be empty', limit: 1 },
  ])
  assert.deepEqual(fields(await post('/session/', {}), 'login'), [
    { field: 'login', code: 'required', message: 'is required' },
    { field: 'password', code: 'required', message: 'is required' },
  ])
  assert.deepEqual(
    fields(await post('/session/', { login: 'alice', password: 'p'.repeat(4097) }), 'login, long'),
    [
      {
        field: 'password',
        code: 'too_long',
        message: 'must be at most 4096 characters long',
        limit: 4096,
      },
    ],
  )
  assert.deepEqual(fields(await post('/session/refresh', { refresh_token: [] }), 'refresh'), [
    { field: 'refresh_token', code: 'invalid_type', message: 'must be a string' },
  ])
  fields(await post('/user/', ['not', 'an', 'object']), 'an array body')
  fields(
    await app.inject({
      method: 'PUT',
      url: '/user/me/password',
      headers: bearer(admin.access_token),
      payload: { current_password: true, new_password: null },
    }),
    'change password',
  )

  const list = (query: string) =>
    app.inject({ method: 'GET', url: `/user/?${query}`, headers: bearer(admin.access_token) })
  assert.deepEqual(fields(await list('limit=0'), 'limit 0'), [
    { field: 'limit', code: 'out_of_range', message: 'must be at least 1', limit: 1 },
  ])
  assert.deepEqual(fields(await list('limit=101'), 'limit 101'), [
    { field: 'limit', code: 'out_of_range', message: 'must be at most 100', limit: 100 },
  ])
  assert.deepEqual(fields(await list('limit=many'), 'limit many'), [
    { field: 'limit', code: 'invalid_type', message: 'must be a whole number' },
  ])
  const cookie = fields(
    await post('/session/?cookie=maybe', { login: 'a', password: PASSWORD }),
    'cookie=maybe',
  )
  assert.deepEqual(cookie, [
    { field: 'cookie', code: 'invalid_type', message: 'must be true or false' },
  ])
})

test('every keyword has its own words, with a plain fallback', () => {
  const validate = validatorCompiler({
    schema: {
      type: 'object',
      required: ['id'],
      additionalProperties: false,
      properties: {
        id: { type: 'string', format: 'uuid' },
        when: { type: 'string', format: 'date-time' },
        code: { type: 'string', pattern: '^[a-z]+$' },
        role: { enum: ['user', 'admin'] },
        kind: { const: 'person' },
        count: { type: 'integer', minimum: 1, maximum: 10 },
        either: { type: ['string', 'null'] },
        items: { type: 'array', maxItems: 1 },
      },
    },
    method: 'POST',
    url: '/',
    httpPart: 'body',
  }) as (value: unknown) => true | { error: AppError }
  const result = validate({
    id: 'nope',
    when: 'yesterday',
    code: 'ABC',
    role: 'root',
    kind: 'robot',
    count: 11,
    either: 1,
    items: [1, 2],
    other: true,
  })
  assert.notEqual(result, true)
  const { error } = result as { error: AppError }
  assert.ok(error instanceof AppError)
  assert.equal(error.code, 'validation_failed')
  const messages = Object.fromEntries(
    (error.errors ?? []).map((e) => [`${e.field} ${e.code}`, e.message]),
  )
  assert.deepEqual(messages, {
    'other unknown_property': 'is not an allowed property',
    'id invalid_format': 'must be a UUID',
    'when invalid_format': 'must be a date and time (RFC 3339)',
    'code invalid_format': 'is not in the expected format',
    'role invalid_value': 'must be one of user, admin',
    'kind invalid_value': 'must be person',
    'count out_of_range': 'must be at most 10',
    'either invalid_type': 'must be a string or null',
    'items too_long': 'must hold at most 1 item',
  })
  for (const message of Object.values(messages)) assert.doesNotMatch(message, AJV)
})
