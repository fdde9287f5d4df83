import { systemClock } from '../clock.ts'
import { EVENT_TYPES, type EventType } from '../events/catalogue.ts'
import { recorder } from '../outbox/record.ts'
import { createSealer } from '../tokens/sealing.ts'
import { createWebhookService } from '../webhooks/service.ts'
import { type Command, UsageError } from './command.ts'
import { withStore } from './store.ts'

const usage = `usage: usersvc webhooks add URL [--types TYPE,TYPE…] [--description TEXT]

Adds a webhook endpoint and prints its id and its signing secret (shown this once). Without
--types it receives every event type. Running instances start delivering to it within a second.
Types: ${EVENT_TYPES.join(', ')}`

function parseTypes(value: unknown): EventType[] | null {
  if (value === undefined) return null
  const types = String(value)
    .split(',')
    .map((type) => type.trim())
    .filter(Boolean)
  const unknown = types.filter((type) => !(EVENT_TYPES as readonly string[]).includes(type))
  if (unknown.length > 0 || types.length === 0) {
    throw new UsageError(`usersvc: unknown event type: ${unknown.join(', ') || '(none given)'}`)
  }
  return types as EventType[]
}

export const webhooksCommand: Command = {
  usage,
  options: { types: { type: 'string' }, description: { type: 'string' } },
  async run({ values, positionals }, config) {
    const [action, url, ...rest] = positionals
    if (action !== 'add' || !url || rest.length > 0) throw new UsageError(usage)
    const types = parseTypes(values.types)
    const { webhook, secret } = await withStore(config, (store) =>
      createWebhookService({
        db: store.db,
        clock: systemClock,
        sealer: createSealer(config.tokens.signingKeySecrets),
        allowHttp: config.events.webhooks.allowHttp,
        // Only a retry records anything; adding an endpoint does not.
        record: recorder(
          store.dialect,
          () => new Date(),
          () => {},
        ),
      }).create({
        url,
        types,
        ...(typeof values.description === 'string' ? { description: values.description } : {}),
      }),
    )
    console.log(`id:     ${webhook.id}`)
    console.log(`secret: ${secret}`)
    console.log('The secret is shown this once: keep it where the receiver verifies signatures.')
    return 0
  },
}
