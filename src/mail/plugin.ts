import { readFile } from 'node:fs/promises'
import fp from 'fastify-plugin'
import { MAIL_CHANNEL } from '../outbox/mail.ts'
import { channelMetrics } from '../outbox/metrics.ts'
import { fileTransport } from './files.ts'
import { describeMail, mailSender } from './sender.ts'
import { smtpTransport } from './smtp.ts'
import { maskAddress, type Transport } from './transport.ts'

/** Mail older than this still unsent makes readiness "degraded" (the instance keeps serving). */
export const MAIL_LATE_MS = 5 * 60_000

export interface MailStatus {
  /** "degraded" when the oldest unsent mail is older than MAIL_LATE_MS. */
  readiness(): Promise<'ok' | 'degraded'>
}

declare module 'fastify' {
  interface FastifyInstance {
    mail: MailStatus
  }
}

async function readCa(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(`SMTP_CA_FILE (${file}) cannot be read: ${code}`)
  }
}

/** Sends the outbox's mail: over SMTP when SMTP_URL is set, else into files under MAIL_DIR. */
export default fp(
  async (app) => {
    const { mail } = app.config
    let transport: Transport
    if (mail.smtpUrl) {
      const ca = mail.caFile ? await readCa(mail.caFile) : undefined
      transport = smtpTransport({
        url: mail.smtpUrl,
        from: mail.from,
        requireTls: mail.requireTls,
        ...(ca ? { ca } : {}),
      })
    } else {
      transport = fileTransport(mail.dir, mail.from, (file, to) => {
        // For the person at the terminal: where to read it. The address masked, no code.
        process.stderr.write(`mail to ${maskAddress(to)}: ${file}\n`)
      })
    }
    const stats = () => app.outbox.stats(MAIL_CHANNEL)
    const onOutcome = channelMetrics({
      registry: app.metrics.registry,
      prefix: 'usersvc_mail',
      noun: 'Mails',
      stats,
      now: () => app.clock.now(),
    })
    app.outbox.consume(MAIL_CHANNEL, mailSender(transport, mail.publicUrl), {
      onOutcome,
      describe: describeMail,
    })
    app.decorate<MailStatus>('mail', {
      async readiness() {
        const { oldest } = await stats()
        const late = oldest && app.clock.now().getTime() - oldest.getTime() > MAIL_LATE_MS
        return late ? 'degraded' : 'ok'
      },
    })
    app.addHook('onClose', async () => transport.close())
  },
  { name: 'mail', dependencies: ['core', 'metrics', 'outbox'] },
)
