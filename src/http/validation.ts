import { Ajv, type ErrorObject, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'
import { AppError, type FieldCode, type FieldError } from '../errors.ts'

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: true, // name every failed rule, not just the first
    removeAdditional: false, // unknown properties are refused, never silently dropped
    useDefaults: true,
    strict: false, // TypeBox adds keywords Ajv does not know (e.g. `~kind`)
    ...options,
  })
  addFormats.default(ajv, ['uuid', 'date-time', 'uri-reference'])
  return ajv
}

// JSON bodies keep their types ("15" is not 15); query strings and path params are text
// by nature and are coerced.
const bodyAjv = makeAjv({ coerceTypes: false })
const textAjv = makeAjv({ coerceTypes: true })

/**
 * Validators that fail with the service's own error: a 422 validation_failed whose `errors` name
 * every failed rule in the service's words. Routes that report more at once (registration) find
 * it as `request.validationError`.
 */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const validate = (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object)
  return (data: unknown) => {
    if (validate(data)) return true
    const errors = fieldErrors(validate.errors ?? [], httpPart ?? 'body')
    return { error: new AppError('validation_failed', { errors }) }
  }
}

const codes: Record<string, FieldCode> = {
  required: 'required',
  additionalProperties: 'unknown_property',
  type: 'invalid_type',
  minLength: 'too_short',
  maxLength: 'too_long',
  minItems: 'too_short',
  maxItems: 'too_long',
  minimum: 'out_of_range',
  maximum: 'out_of_range',
  pattern: 'invalid_format',
  format: 'invalid_format',
  enum: 'invalid_value',
  const: 'invalid_value',
}

const BOUNDED = new Set(['minLength', 'maxLength', 'minItems', 'maxItems', 'minimum', 'maximum'])

const TYPES: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
}
const FORMATS: Record<string, string> = {
  uuid: 'a UUID',
  'date-time': 'a date and time (RFC 3339)',
  'uri-reference': 'a URI reference',
}

/**
 * The service's own words for a failed rule, in the style of its other messages ("is required",
 * "must be 3 to 64 characters long"): Ajv's ("must NOT have fewer than 1 characters") would
 * make its wording part of the API.
 */
function fieldMessage(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>
  const limit = String(params.limit)
  switch (error.keyword) {
    case 'required':
      return 'is required'
    case 'additionalProperties':
      return 'is not an allowed property'
    case 'type': {
      const types = String(params.type).split(',')
      return `must be ${types.map((type) => TYPES[type] ?? type).join(' or ')}`
    }
    case 'minLength':
      return params.limit === 1 ? 'must not be empty' : `must be at least ${limit} characters long`
    case 'maxLength':
      return `must be at most ${limit} characters long`
    case 'minItems':
      return `must hold at least ${limit} ${limit === '1' ? 'item' : 'items'}`
    case 'maxItems':
      return `must hold at most ${limit} ${limit === '1' ? 'item' : 'items'}`
    case 'minimum':
      return `must be at least ${limit}`
    case 'maximum':
      return `must be at most ${limit}`
    case 'format':
      return `must be ${FORMATS[String(params.format)] ?? 'in the expected format'}`
    case 'pattern':
      return 'is not in the expected format'
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`
    case 'const':
      return `must be ${String(params.allowedValue)}`
    default:
      return 'is not valid'
  }
}

/** Ajv errors → the `errors` member of a problem document: one entry per failed rule. */
export function fieldErrors(errors: ErrorObject[], part: string): FieldError[] {
  return errors.map((error) => {
    const path = error.instancePath.split('/').slice(1).join('.')
    const params = error.params as Record<string, unknown>
    let field = path || part
    const message = fieldMessage(error)
    if (error.keyword === 'required') {
      field = [path, String(params.missingProperty)].filter(Boolean).join('.')
    } else if (error.keyword === 'additionalProperties') {
      field = [path, String(params.additionalProperty)].filter(Boolean).join('.')
    }
    const code = codes[error.keyword] ?? 'invalid_value'
    // Bounded rules name their bound; clients word it themselves.
    const limit = BOUNDED.has(error.keyword) ? params.limit : undefined
    return { field, code, message, ...(typeof limit === 'number' ? { limit } : {}) }
  })
}
