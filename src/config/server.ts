import Type from 'typebox'
import type { EnvOf } from './env.ts'
import { list } from './env.ts'

// Listening, logging, and what the service believes of the clients in front of it.
export const env = {
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  // Default: 8443 with TLS, 8080 without.
  PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  TRUST_PROXY: Type.String({ default: '', pattern: '^[A-Za-z0-9.:/, ]*$' }),
  // Other origins whose pages may use the cookie session (the service's own always may).
  ALLOWED_ORIGINS: Type.String({ default: '', pattern: '^[A-Za-z0-9.:/, -]*$' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
  }),
  // Slow clients: the whole header must arrive within HEADERS, the whole request within REQUEST.
  HEADERS_TIMEOUT_SECONDS: Type.Integer({ default: 10, minimum: 1, maximum: 300 }),
  REQUEST_TIMEOUT_SECONDS: Type.Integer({ default: 30, minimum: 1, maximum: 600 }),
  KEEP_ALIVE_TIMEOUT_SECONDS: Type.Integer({ default: 72, minimum: 1, maximum: 600 }),
}

export interface ServerConfig {
  host: string
  port: number
  logLevel: string
  timeouts: { headersMs: number; requestMs: number; keepAliveMs: number }
  /** Addresses or CIDRs of proxies whose X-Forwarded-* headers are believed (none by default). */
  trustProxy: string[]
  /** Origins (https://app.example) besides the service's own allowed to use cookie sessions. */
  allowedOrigins: string[]
}

export function read(e: EnvOf<typeof env>, tls: boolean): ServerConfig {
  return {
    host: e.HOST,
    port: e.PORT ?? (tls ? 8443 : 8080),
    logLevel: e.LOG_LEVEL,
    timeouts: {
      headersMs: e.HEADERS_TIMEOUT_SECONDS * 1000,
      // Node requires the request timeout to be at least the headers timeout.
      requestMs: Math.max(e.REQUEST_TIMEOUT_SECONDS, e.HEADERS_TIMEOUT_SECONDS) * 1000,
      keepAliveMs: e.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    },
    trustProxy: list(e.TRUST_PROXY),
    allowedOrigins: list(e.ALLOWED_ORIGINS),
  }
}

/** The service's address as a browser on this machine reaches it: localhost for a loopback HOST. */
export function ownUrl(host: string, port: number, tls: boolean): string {
  const loopback = ['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost'].includes(host)
  const name = loopback ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return `${tls ? 'https' : 'http'}://${name}:${port}`
}
