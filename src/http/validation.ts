import { Ajv, type ErrorObject, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'
import type { FieldError } from '../errors.ts'

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

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object)

const codes: Record<string, string> = {
  required: 'required',
  additionalProperties: 'unknown_property',
  type: 'invalid_type',
  minLength: 'too_short',
  maxLength: 'too_long',
  minimum: 'out_of_range',
  maximum: 'out_of_range',
  pattern: 'invalid_format',
  format: 'invalid_format',
  enum: 'invalid_value',
  const: 'invalid_value',
}

const BOUNDED = new Set(['minLength', 'maxLength', 'minimum', 'maximum'])

/** Ajv errors → the `errors` member of a problem document: one entry per failed rule. */
export function fieldErrors(errors: ErrorObject[], part: string): FieldError[] {
  return errors.map((error) => {
    const path = error.instancePath.split('/').slice(1).join('.')
    const params = error.params as Record<string, unknown>
    let field = path || part
    let message = error.message ?? 'is not valid'
    if (error.keyword === 'required') {
      field = [path, String(params.missingProperty)].filter(Boolean).join('.')
      message = 'is required'
    } else if (error.keyword === 'additionalProperties') {
      field = [path, String(params.additionalProperty)].filter(Boolean).join('.')
      message = 'is not an allowed property'
    }
    const code = codes[error.keyword] ?? error.keyword
    // minLength, maxLength, minimum and maximum name their bound; clients word it themselves.
    const limit = BOUNDED.has(error.keyword) ? params.limit : undefined
    return { field, code, message, ...(typeof limit === 'number' ? { limit } : {}) }
  })
}
