import { isIP } from 'node:net'
import { rootCertificates } from 'node:tls'
import nodemailer from 'nodemailer'
import { ipv6Groups } from '../ip.ts'
import { PermanentFailure } from '../outbox/worker.ts'
import { message, type Transport } from './transport.ts'

export interface SmtpOptions {
  /** smtp://[user:pass@]host[:port] (STARTTLS) or smtps://… (TLS from the first byte). */
  url: string
  from: string
  /** TLS to the server unless it is on this host; false: plain SMTP is allowed anywhere. */
  requireTls: boolean
  /** PEM certificates trusted besides the system's (a private mail relay's CA). */
  ca?: string
}

/** Whether an SMTP_URL host is this machine, where plain SMTP never crosses a network. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return ipv6Groups(host)?.join(':') === '0:0:0:0:0:0:0:1'
}

/**
 * nodemailer over SMTP. TLS is required (STARTTLS, or smtps://), with the certificate checked,
 * unless the server is on loopback or `requireTls` is false: the mails carry codes. A server that
 * does not offer STARTTLS then gets nothing: the message waits in the outbox for a retry.
 */
export function smtpTransport(options: SmtpOptions): Transport {
  const { hostname, protocol } = new URL(options.url)
  const secure = protocol === 'smtps:'
  const mustEncrypt = options.requireTls && !isLoopback(hostname)
  const transporter = nodemailer.createTransport({
    url: options.url,
    // One connection kept open and reused: the sender sends one mail at a time, and a new
    // connection per mail (greeting, EHLO, STARTTLS) cost ~20 times the time of the mail itself.
    pool: true,
    maxConnections: 1,
    requireTLS: mustEncrypt && !secure,
    // Not required: not attempted either, so a server's self-signed certificate cannot fail it.
    ignoreTLS: !mustEncrypt && !secure,
    tls: {
      minVersion: 'TLSv1.2',
      // Given alone, `ca` would replace the system's trust store; add to it instead.
      ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}),
    },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    logger: false,
  })
  return {
    async send(mail) {
      try {
        await transporter.sendMail(message(mail, options.from))
      } catch (error) {
        throw deliveryFailure(error)
      }
    },
    close: () => transporter.close(),
  }
}

interface SmtpError {
  code?: unknown
  originalCode?: unknown
  responseCode?: unknown
  command?: unknown
  response?: unknown
  message?: unknown
}

// Replies about the message itself. A 5xx to EHLO, STARTTLS or AUTH is about this service's
// own set-up (a relay without TLS, a wrong password): fixed there, the mail can still go.
const MESSAGE_COMMANDS = new Set(['MAIL FROM', 'RCPT TO', 'DATA'])

/**
 * What a failed send becomes: a PermanentFailure for a 5xx reply to the message (RFC 5321 §4.2.1;
 * 503 is a broken sequence, not a verdict), an ordinary error (retried) for everything else.
 * The server's reply text is left out: it may quote the recipient or parts of the message.
 */
export function deliveryFailure(error: unknown): Error {
  const e = (error ?? {}) as SmtpError
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined
  const command = typeof e.command === 'string' ? e.command : 'CONN'
  if (reply !== undefined && reply >= 500 && reply < 600 && reply !== 503) {
    if (MESSAGE_COMMANDS.has(command)) {
      return new PermanentFailure(
        `the mail server refused it for good (SMTP ${reply} to ${command})`,
      )
    }
  }
  if (reply !== undefined) return new Error(`SMTP ${reply} to ${command} (${String(e.code)})`)
  // No reply: the connection, DNS or TLS failed here; Node's words name no secret.
  const code = [e.code, e.originalCode].filter((c) => typeof c === 'string').join('/')
  const detail = typeof e.message === 'string' && e.response === undefined ? `: ${e.message}` : ''
  return new Error(`not delivered (${code || 'error'})${detail}`.slice(0, 300))
}
