import { invalidField } from '../errors.ts'

// Where a webhook may point. https keeps the signed body and its secret-derived signature off the
// wire in clear; plain http is for a receiver on this machine (or a deployment that says so).

const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

/** The WHATWG parser has normalised the host already (127.1 → 127.0.0.1, [::1], lower case). */
export function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '[::1]' ||
    LOOPBACK_V4.test(hostname)
  )
}

/** The URL as given, when the rules allow it; else a 422 about the field `url`. */
export function checkUrl(url: string, allowHttp: boolean): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw invalidField('url', 'invalid_format', 'must be an absolute https URL')
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw invalidField('url', 'invalid_value', 'must be an https URL')
  }
  // Credentials would be stored, listed and logged with the URL: the signature authenticates.
  if (parsed.username !== '' || parsed.password !== '') {
    throw invalidField('url', 'invalid_format', 'must not hold credentials (user:password@)')
  }
  if (parsed.protocol === 'http:' && !allowHttp && !isLoopback(parsed.hostname)) {
    throw invalidField(
      'url',
      'invalid_value',
      'must be an https URL (plain http only to 127.0.0.0/8, ::1 or localhost)',
    )
  }
  return url
}
