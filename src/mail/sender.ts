import type { OutboxMessage } from '../outbox/repository.ts'
import { PermanentFailure } from '../outbox/worker.ts'
import { mailRequest, render } from './render.ts'
import { maskAddress, type Transport } from './transport.ts'

/**
 * Delivers one mail of the outbox. The transport says whether a failure is for good (SMTP 5xx to
 * the message); a payload that is not a mail request never will be sent either.
 */
export function mailSender(transport: Transport, publicUrl: string) {
  return async (message: OutboxMessage): Promise<void> => {
    let request: ReturnType<typeof mailRequest>
    try {
      request = mailRequest(message.payload)
    } catch {
      throw new PermanentFailure('the outbox message is not a mail request')
    }
    await transport.send(render(request, publicUrl))
  }
}

/** What log lines say about a mail: its template and masked address; never its code. */
export function describeMail(message: OutboxMessage): Record<string, unknown> {
  const { template, to } = (message.payload ?? {}) as { template?: unknown; to?: unknown }
  return {
    template: typeof template === 'string' ? template : undefined,
    to: typeof to === 'string' ? maskAddress(to) : undefined,
  }
}
