import type { MailConfig } from '../config/mail.ts'
import { isLoopback } from './smtp.ts'

/** Where mail goes, for the start-up banner: never the SMTP user or password. */
export function mailDestination(mail: MailConfig): string {
  if (!mail.smtpUrl)
    return `${mail.dir.replace(/\/$/, '')}/ (a file per mail; set SMTP_URL to send)`
  const { protocol, host, hostname } = new URL(mail.smtpUrl)
  const how =
    protocol === 'smtps:'
      ? 'TLS'
      : !mail.requireTls
        ? 'no TLS: SMTP_TLS=off'
        : isLoopback(hostname)
          ? 'no TLS: loopback'
          : 'STARTTLS required'
  return `${protocol}//${host} (${how})`
}
