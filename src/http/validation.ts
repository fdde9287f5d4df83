import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

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
