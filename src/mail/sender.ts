import type { MailRequest } from '../outbox/mail.ts'
import type { OutboxMessage } from '../outbox/repository.ts'
import { PermanentFailure } from '../outbox/worker.ts'
import { render } from './render.ts'
import type { Transport } from './transport.ts'

/**
 * Delivers one mail of the outbox. A mail server's permanent refusal (SMTP 5xx: no such mailbox,
 * policy) will not change on a retry; anything else (refused connection, 4xx, timeouts) may.
 */
export function mailSender(transport: Transport, publicUrl: string) {
  return async (message: OutboxMessage): Promise<void> => {
    const mail = render(message.payload as MailRequest, publicUrl)
    try {
      await transport.send(mail)
    } catch (error) {
      const code = (error as { responseCode?: unknown }).responseCode
      if (typeof code === 'number' && code >= 500 && code < 600) {
        // The server's reply may quote the message; keep only its class and code.
        throw new PermanentFailure(`the mail server refused it for good (SMTP ${code})`)
      }
      const reason = (error as { code?: unknown }).code
      throw new Error(
        typeof code === 'number' ? `SMTP ${code}` : `not delivered (${String(reason ?? 'error')})`,
      )
    }
  }
}
