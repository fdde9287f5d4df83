// Mail as a user receives it: a real SMTP server on 127.0.0.1 (smtp-server), or the .eml files
// the service writes without SMTP_URL; either way parsed by mailparser.
import { readdir, readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { eventually } from './eventually.ts'

export interface Received {
  to: string
  subject: string
  text: string
  html: string
  /** The message as it arrived (RFC 5322), for checks of what must never be in it. */
  raw: string
}

async function parse(raw: Buffer): Promise<Received> {
  const mail: ParsedMail = await simpleParser(raw)
  const to = Array.isArray(mail.to) ? mail.to[0] : mail.to
  return {
    to: to?.value[0]?.address ?? '',
    subject: mail.subject ?? '',
    text: mail.text ?? '',
    html: typeof mail.html === 'string' ? mail.html : '',
    raw: raw.toString('utf8'),
  }
}

export interface Mailbox {
  /** Every message received so far, in order. */
  all(): Promise<Received[]>
  /** The first message to `to` (whose subject matches `subject`) not handed out before. */
  next(to: string, subject?: RegExp): Promise<Received>
}

function mailbox(read: () => Promise<Received[]>): Mailbox {
  const taken = new Set<number>()
  return {
    all: read,
    async next(to, subject) {
      return eventually(
        async () => {
          const messages = await read()
          const index = messages.findIndex(
            (m, i) =>
              !taken.has(i) && m.to === to.toLowerCase() && (!subject || subject.test(m.subject)),
          )
          if (index < 0) return undefined
          taken.add(index)
          return messages[index]
        },
        { what: `a mail to ${to}` },
      )
    },
  }
}

export interface SmtpSink extends Mailbox {
  /** SMTP_URL for the service. */
  url: string
  port: number
  /** Stops listening (the service's sends then fail) … */
  stop(): Promise<void>
  /** … and listens again on the same port. */
  start(): Promise<void>
}

/** A real SMTP server on 127.0.0.1 (no TLS: loopback), keeping what it receives; closed after. */
export async function smtpSink(t: TestContext): Promise<SmtpSink> {
  const received: Received[] = []
  let port = 0
  let server: SMTPServer | undefined
  const listen = async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, done) {
        const chunks: Buffer[] = []
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('end', () => {
          parse(Buffer.concat(chunks)).then((mail) => {
            received.push(mail)
            done()
          }, done)
        })
      },
    })
    const listening = server
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject)
      listening.listen(port, '127.0.0.1', () => resolve())
    })
    port = (listening.server.address() as AddressInfo).port
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) resolve()
      else server.close(() => resolve())
      server = undefined
    })
  await listen()
  t.after(stop)
  return {
    ...mailbox(async () => [...received]),
    get url() {
      return `smtp://127.0.0.1:${port}`
    },
    get port() {
      return port
    },
    stop,
    start: listen,
  }
}

/** The .eml files the service wrote to `dir` (no SMTP_URL), oldest first. */
export function mailDir(dir: string): Mailbox {
  return mailbox(async () => {
    const names = (await readdir(dir).catch(() => [] as string[]))
      .filter((n) => n.endsWith('.eml'))
      .sort()
    return Promise.all(names.map(async (name) => parse(await readFile(join(dir, name)))))
  })
}

/** The code a mail carries: the first run of 6 or more digits on a line of its own. */
export function codeIn(mail: Received): string {
  const code = /^\s*(\d{6,})\s*$/m.exec(mail.text)?.[1]
  if (!code) throw new Error(`no code in the mail "${mail.subject}":\n${mail.text}`)
  return code
}
