import Type from 'typebox'
import type { EnvOf, EnvProblem } from './env.ts'
import { list } from './env.ts'

export const env = {
  TLS: Type.Enum(['on', 'off'], { default: 'on' }),
  TLS_DIR: Type.String({ default: './data/tls', minLength: 1 }),
  TLS_CERT_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TLS_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TLS_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TLS_SAN: Type.String({ default: '', pattern: '^[A-Za-z0-9.:*,\\- ]*$' }),
}

export interface TlsConfig {
  enabled: boolean
  /** Where the local CA and the generated certificates live. */
  dir: string
  certFile?: string
  keyFile?: string
  /** Intermediate certificates to send after the leaf. */
  caFile?: string
  /** Names and addresses the generated certificate covers, besides localhost, 127.0.0.1, ::1. */
  sans: string[]
}

export function check(raw: Record<string, string>): EnvProblem[] {
  const problems: EnvProblem[] = []
  if (Boolean(raw.TLS_CERT_FILE) !== Boolean(raw.TLS_KEY_FILE)) {
    const missing = raw.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'
    problems.push([missing, 'is needed with the other TLS_*_FILE'])
  }
  if (raw.TLS_CA_FILE && !raw.TLS_CERT_FILE)
    problems.push(['TLS_CA_FILE', 'is only used with TLS_CERT_FILE'])
  return problems
}

export function read(e: EnvOf<typeof env>): TlsConfig {
  return {
    enabled: e.TLS === 'on',
    dir: e.TLS_DIR,
    certFile: e.TLS_CERT_FILE,
    keyFile: e.TLS_KEY_FILE,
    caFile: e.TLS_CA_FILE,
    sans: list(e.TLS_SAN),
  }
}
