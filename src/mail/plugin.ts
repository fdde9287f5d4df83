import fp from 'fastify-plugin'
import { MAIL_CHANNEL } from '../outbox/mail.ts'
import { mailSender } from './sender.ts'
import { fileTransport, maskAddress, smtpTransport } from './transport.ts'

/** Sends the outbox's mail: over SMTP when SMTP_URL is set, else into files under MAIL_DIR. */
export default fp(
  async (app) => {
    const { mail } = app.config
    const transport = mail.smtpUrl
      ? smtpTransport(mail.smtpUrl, mail.from, mail.requireTls)
      : fileTransport(mail.dir, mail.from, (file, to) => {
          // For the person at the terminal: where to read it. The address masked, no code.
          process.stderr.write(`mail to ${maskAddress(to)}: ${file}\n`)
        })
    app.outbox.consume(MAIL_CHANNEL, mailSender(transport, mail.publicUrl))
    app.addHook('onClose', async () => transport.close())
  },
  { name: 'mail', dependencies: ['core', 'outbox'] },
)
