// Mail as a user receives it: a real SMTP server on 127.0.0.1 (smtp-server), or the .eml files
// the service writes without SMTP_URL; either way parsed by mailparser.
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import type { App } from '../../src/app.ts'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { eventually } from './eventually.ts'
import { freePort } from './ports.ts'

export interface Received {
  to: string
  subject: string
  text: string
  html: string
  /** The message as it arrived (RFC 5322), for checks of what must never be in it. */
  raw: string
  /** Over SMTP: whether it came over TLS (STARTTLS or smtps). */
  secure?: boolean
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
  // Handed out by content, not position: mailDir reads files in name order, and two mails named
  // in one millisecond may sort otherwise than they were written.
  const taken = new Set<string>()
  return {
    all: read,
    async next(to, subject) {
      return eventually(
        async () => {
          const messages = await read()
          const index = messages.findIndex(
            (m) =>
              !taken.has(m.raw) &&
              m.to.toLowerCase() === to.toLowerCase() &&
              (!subject || subject.test(m.subject)),
          )
          const found = messages[index]
          if (!found) return undefined
          taken.add(found.raw)
          return found
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
  /** Answer the message's RCPT TO or DATA with this reply instead of accepting it. */
  refuse: Refusal | undefined
  /** Connections made to it so far (delivered or not). */
  connections(): number
  /** MAIL FROM commands it was sent so far: a sender that gets this far has begun a message. */
  envelopes(): number
  /** The logins it was given (it accepts any password), and whether the session was encrypted. */
  logins(): { user: string; secure: boolean }[]
  /** Commands it refused so far (its refusal above, or one it does not offer, e.g. STARTTLS). */
  refusals(): number
  /** With holdData: accepts every DATA held so far, and the later ones at once. */
  release(): void
}

export interface Refusal {
  at: 'RCPT' | 'DATA'
  code: number
  message: string
}

export interface SinkOptions {
  /** The address to listen on (127.0.0.1 unless told). */
  host?: string
  /** Offer STARTTLS with this key and certificate (none unless told: plain SMTP only). */
  tls?: { key: string; cert: string }
  /** smtps: TLS from the first byte (with `tls`). */
  secure?: boolean
  /** Hold each DATA this long before accepting it (a slow server). */
  dataDelayMs?: number
  /** Hold each DATA until release(): a server slow for exactly as long as a test needs. */
  holdData?: boolean
}

const refusal = (r: Refusal) => Object.assign(new Error(r.message), { responseCode: r.code })

/** A real SMTP server (on 127.0.0.1, no TLS, unless told), keeping what it receives; closed after. */
export async function smtpSink(t: TestContext, options: SinkOptions = {}): Promise<SmtpSink> {
  const host = options.host ?? '127.0.0.1'
  const received: Received[] = []
  // A fixed port, below the kernel's range for port 0 (support/ports.ts): after stop(), nothing
  // else on the machine takes it before start() listens there again.
  let port = await freePort()
  let server: SMTPServer | undefined
  let connections = 0
  let refusals = 0
  let envelopes = 0
  const logins: { user: string; secure: boolean }[] = []
  let refuse: Refusal | undefined
  let holding = options.holdData === true
  const held: Array<() => void> = []
  const listen = async () => {
    server = new SMTPServer({
      authOptional: true,
      ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
      secure: options.secure === true,
      disabledCommands: options.tls ? [] : ['STARTTLS'],
      logger: false,
      // Stopping is going down: open (pooled) connections get a 421 and are closed at once.
      closeTimeout: 50,
      onConnect(_session, done) {
        connections++
        done()
      },
      onAuth(auth, session, done) {
        logins.push({ user: auth.username ?? '', secure: session.secure })
        done(null, { user: auth.username })
      },
      onMailFrom(_address, _session, done) {
        envelopes++
        done()
      },
      onRcptTo(_address, _session, done) {
        if (refuse?.at !== 'RCPT') return done()
        refusals++
        done(refusal(refuse))
      },
      onData(stream, session, done) {
        const chunks: Buffer[] = []
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('end', () => {
          if (refuse?.at === 'DATA') {
            refusals++
            done(refusal(refuse))
            return
          }
          const accept = () =>
            parse(Buffer.concat(chunks)).then((mail) => {
              received.push({ ...mail, secure: session.secure })
              done()
            }, done)
          if (holding) held.push(() => void accept())
          else if (options.dataDelayMs) setTimeout(accept, options.dataDelayMs)
          else void accept()
        })
      },
    })
    // A command it does not offer (STARTTLS here) is answered 5xx by smtp-server itself.
    server.on('error', () => {})
    const listening = server
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject)
      listening.listen(port, host, () => resolve())
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
  const scheme = options.secure ? 'smtps' : 'smtp'
  return {
    ...mailbox(async () => [...received]),
    get url() {
      return `${scheme}://${host}:${port}`
    },
    get port() {
      return port
    },
    stop,
    start: listen,
    get refuse() {
      return refuse
    },
    set refuse(value) {
      refuse = value
    },
    connections: () => connections,
    envelopes: () => envelopes,
    logins: () => [...logins],
    refusals: () => refusals,
    release() {
      holding = false
      for (const accept of held.splice(0)) accept()
    },
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

/** What a domain service does: record a mail in the transaction of its change. */
export async function recordMail(app: App, request: MailRequest): Promise<void> {
  await app.store.db.transaction().execute((trx) => app.outbox.record(trx, MAIL_CHANNEL, request))
}

/** Fails if a secret (a code, a password) appears anywhere in `output` (log lines, stderr). */
export function assertNoSecret(output: string | string[], secrets: string[], where: string): void {
  const text = Array.isArray(output) ? output.join('\n') : output
  assert.ok(text.length > 0, `nothing in ${where} to look at`)
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), `${where} holds the secret ${secret}:\n${text}`)
  }
}
