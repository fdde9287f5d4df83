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

// Methods whose body Fastify never parses, whatever their Content-Type.
const BODYLESS = new Set(['GET', 'HEAD', 'TRACE'])
const JSON_TYPE = /^\s*application\/json\s*(;|$)/i

/**
 * The charset a Content-Type declares, lower-cased, if any. Parameter names and charset values are
 * case-insensitive, and a value may be quoted (RFC 9110 §5.6.6, §8.3.2).
 */
function declaredCharset(contentType: string): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType)
  return match ? (match[1] ?? match[2] ?? '').toLowerCase() : undefined
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
  // RFC 8259 §8.1: JSON between systems is UTF-8. A body declared in another charset would be
  // misread as UTF-8, so it is refused, and before it is read, as Fastify refuses a media type it
  // has no parser for.
  app.addHook('preParsing', async (request) => {
    if (BODYLESS.has(request.method)) return
    const contentType = request.headers['content-type']
    if (contentType === undefined || !JSON_TYPE.test(contentType)) return
    const charset = declaredCharset(contentType)
    if (charset !== undefined && charset !== 'utf-8') {
      const detail = 'A JSON body must be UTF-8 (RFC 8259): charset, if given, must be utf-8.'
      throw new AppError('unsupported_media_type', { detail })
    }
  })
}
