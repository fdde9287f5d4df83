import type { FastifyInstance } from 'fastify'
import secureJson from 'secure-json-parse'
import { AppError } from '../errors.ts'
import { hasDuplicateKey } from './duplicate-keys.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

const malformed = (detail: string) => new AppError('malformed_json', { detail })

/** The body as a JSON value, or the AppError that says what is wrong with it. */
function parseBody(body: Buffer): unknown {
  let text: string
  try {
    text = utf8.decode(body)
  } catch {
    throw malformed('The body is not valid UTF-8.')
  }
  if (text.trim() === '') throw malformed('The body is empty.')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw malformed('The body is not valid JSON.')
  }
  if (hasDuplicateKey(text)) throw malformed('An object in the body has the same key twice.')
  try {
    // JSON.parse makes "__proto__" an own key (harmless here), but code that copies the object
    // later might not be so careful: refuse it at the door.
    if (typeof value === 'object' && value !== null) {
      secureJson.scan(value, { protoAction: 'error', constructorAction: 'error' })
    }
  } catch {
    throw malformed('The keys "__proto__" and "constructor.prototype" are not allowed.')
  }
  return value
}

/**
 * The only body parser: strict UTF-8 (no silent U+FFFD), JSON, no key given twice, and no
 * `__proto__` or `constructor.prototype` keys. Every other media type is answered 415 by Fastify.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    ['application/json'],
    { parseAs: 'buffer' },
    (_req, body: Buffer, done) => {
      let value: unknown
      try {
        value = parseBody(body)
      } catch (error) {
        done(error as AppError)
        return
      }
      done(null, value)
    },
  )
}
