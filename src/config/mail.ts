import Type from 'typebox'
import type { EnvOf, EnvProblem } from './env.ts'

// Outgoing mail. Without SMTP_URL every message is written as a file under MAIL_DIR instead, so
// that `npm start` alone lets a newcomer read a code.
export const env = {
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  // off: no TLS to the mail server even off loopback (a relay on a private network you trust).
  SMTP_TLS: Type.Enum(['on', 'off'], { default: 'on' }),
  // PEM file of a CA to trust for the mail server besides the system's (a private relay).
  SMTP_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
  MAIL_FROM: Type.String({ default: 'usersvc <usersvc@localhost>', minLength: 3 }),
  MAIL_DIR: Type.String({ default: './data/mail', minLength: 1 }),
  // The web page's address for links in mail; default: the service's own https URL.
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^/?#]+(/[^?#]*)?$' })),
}

export interface MailConfig {
  /** undefined: write each message to a file under `dir`. */
  smtpUrl?: string
  /** TLS to the mail server is required unless it is on loopback or this is false. */
  requireTls: boolean
  /** A CA certificate file trusted for the mail server, besides the system's. */
  caFile?: string
  from: string
  dir: string
  /** Set by config/index.ts from PUBLIC_URL or HOST and PORT. */
  publicUrl: string
}

export function check(raw: Record<string, string>): EnvProblem[] {
  // The value is never echoed: it may hold the relay's password.
  if (raw.SMTP_URL && !URL.parse(raw.SMTP_URL)?.hostname) {
    return [['SMTP_URL', 'is not a URL with a host (smtp://user:pass@host:587)']]
  }
  if (raw.SMTP_CA_FILE && !raw.SMTP_URL) return [['SMTP_CA_FILE', 'is only used with SMTP_URL']]
  return []
}

export function read(e: EnvOf<typeof env>, ownUrl: string): MailConfig {
  return {
    smtpUrl: e.SMTP_URL,
    requireTls: e.SMTP_TLS === 'on',
    caFile: e.SMTP_CA_FILE,
    from: e.MAIL_FROM,
    dir: e.MAIL_DIR,
    publicUrl: (e.PUBLIC_URL ?? ownUrl).replace(/\/$/, ''),
  }
}
