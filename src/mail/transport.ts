import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer from 'nodemailer'
import { v7 as uuidv7 } from 'uuid'

export interface Mail {
  to: string
  subject: string
  text: string
  html: string
}

/** Where mail goes: an SMTP server, or files for a developer to read. */
export interface Transport {
  send(mail: Mail): Promise<void>
  close(): void
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]'])

/**
 * nodemailer over SMTP (smtp:// with STARTTLS, smtps:// with TLS from the start). TLS is required
 * unless the server is on this host or `requireTls` is false: the mails carry codes.
 */
export function smtpTransport(url: string, from: string, requireTls: boolean): Transport {
  const { hostname, protocol } = new URL(url)
  const secure = protocol === 'smtps:'
  const mustEncrypt = requireTls && !LOOPBACK.has(hostname)
  const transporter = nodemailer.createTransport({
    url,
    requireTLS: mustEncrypt && !secure,
    ignoreTLS: !mustEncrypt && !secure,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  })
  return {
    async send(mail) {
      await transporter.sendMail({ from, ...mail })
    },
    close: () => transporter.close(),
  }
}

/**
 * Each message as an .eml file (RFC 5322, as an SMTP server would receive it) under `dir`,
 * readable by its owner only; `written` is told the file and the address.
 */
export function fileTransport(
  dir: string,
  from: string,
  written: (file: string, to: string) => void,
): Transport {
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true })
  return {
    async send(mail) {
      const info = await builder.sendMail({ from, ...mail })
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const stamp = new Date().toISOString().replace(/[:.]/g, '-')
      const file = join(dir, `${stamp}-${uuidv7().slice(-12)}.eml`)
      await writeFile(file, info.message as Buffer, { mode: 0o600, flag: 'wx' })
      // The mode of a new file is masked by the umask; make sure of it.
      await chmod(file, 0o600)
      written(file, mail.to)
    },
    close: () => builder.close(),
  }
}

/** `alice@example.com` → `a***@example.com`: enough to tell messages apart, not to harvest. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@')
  if (at < 1) return '***'
  return `${address.slice(0, 1)}***${address.slice(at)}`
}
