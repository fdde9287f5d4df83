import { readFile } from 'node:fs/promises'
import { systemClock } from '../clock.ts'
import { AppError, type FieldError } from '../errors.ts'
import { eventRecorder } from '../events/record.ts'
import { clientBody } from '../oidc/clients/schemas.ts'
import { type ClientService, createClientService } from '../oidc/clients/service.ts'
import { recorder } from '../outbox/record.ts'
import { type Command, type CommandInput, UsageError } from './command.ts'
import { withStore } from './store.ts'

const usage = `usage: usersvc clients add --name NAME --redirect-uri URL [--redirect-uri URL…]
                           [--post-logout-redirect-uri URL…] [--public] [--first-party]
                           [--scopes SCOPE,SCOPE…] [--grant client_credentials]
                           [--id-token-alg EdDSA|RS256]
                           [--token-endpoint-auth-method METHOD] [--jwks FILE|JSON]
       usersvc clients list
       usersvc clients remove CLIENT_ID
       usersvc clients rotate-secret CLIENT_ID

add            registers an OpenID client. --redirect-uri, --post-logout-redirect-uri and
               --grant repeat, once per value. Redirect URIs are https (http only to 127.0.0.1,
               [::1] or localhost), absolute, without a fragment, and matched exactly as given.
               Clients with redirect URIs get the authorization_code and refresh_token grants.
--scopes       some of openid, profile, email, offline_access, comma-separated
               (default: openid,profile,email; refresh tokens need offline_access).
--grant client_credentials
               lets a back-end service get tokens of its own; a client with only that grant
               needs no --redirect-uri.
--token-endpoint-auth-method
               client_secret_basic (default), client_secret_post, private_key_jwt or none;
               --public is none (PKCE, no secret, no client_credentials).
--jwks         the public keys of a private_key_jwt client (required for it): a file, or
               inline JSON {"keys":[…]}. Private members (d, p, q, dp, dq, qi, k) are refused.
--id-token-alg EdDSA (default) or RS256.
--first-party  the team's own app: no consent screen.
rotate-secret  gives the client a new secret; the old one stops working at once.
remove         removes the client with its grants, tokens and consents.
list           prints every client, one JSON object per line (the admin API's shape; never a
               secret).

Output of add and rotate-secret, one "name: value" line each on standard output:
  client_id: <22 characters, base64url>
  client_secret: <43 characters, base64url>   (client_secret_basic/post clients only)
The secret is shown this once (a warning on standard error says so): only its SHA-256 is kept.
remove prints "removed: <client_id>". Refused input exits 1 naming the option; usage errors exit 2.`

// The service's field names, as the options that set them.
const FLAGS: Record<string, string> = {
  client_name: '--name',
  redirect_uris: '--redirect-uri',
  post_logout_redirect_uris: '--post-logout-redirect-uri',
  grant_types: '--grant',
  scope: '--scopes',
  token_endpoint_auth_method: '--token-endpoint-auth-method',
  id_token_signed_response_alg: '--id-token-alg',
  jwks: '--jwks',
}

/** "redirect_uris.1" → "--redirect-uri #2", "jwks.keys.0" → "--jwks keys.0". */
function asFlag(field: string): string {
  const [name = field, ...rest] = field.split('.')
  const flag = FLAGS[name] ?? name
  if (rest.length === 1 && /^\d+$/.test(rest[0] ?? '') && name !== 'jwks')
    return `${flag} #${Number(rest[0]) + 1}`
  return [flag, rest.join('.')].filter(Boolean).join(' ')
}

/** The same refusal, naming options instead of the API's fields. */
function inFlags(error: unknown): never {
  if (error instanceof AppError && error.errors) {
    const errors: FieldError[] = error.errors.map((e) => ({ ...e, field: asFlag(e.field) }))
    throw new AppError(error.code, { detail: error.detail ?? 'the client is refused:', errors })
  }
  throw error
}

const strings = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String)

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/** --jwks: inline JSON (it starts with "{"), else a file holding it. */
async function readJwks(value: string | undefined): Promise<unknown> {
  if (value === undefined) return undefined
  let json = value
  if (!value.trimStart().startsWith('{')) {
    try {
      json = await readFile(value, 'utf8')
    } catch (error) {
      throw new UsageError(`usersvc: --jwks: cannot read ${value}: ${(error as Error).message}`)
    }
  }
  try {
    return JSON.parse(json)
  } catch {
    throw new UsageError('usersvc: --jwks: not valid JSON')
  }
}

function authMethod(values: CommandInput['values']): string | undefined {
  const given = text(values['token-endpoint-auth-method'])
  if (values.public !== true) return given
  if (given !== undefined && given !== 'none') {
    throw new UsageError(`usersvc: --public is --token-endpoint-auth-method none, not ${given}`)
  }
  return 'none'
}

async function add(clients: ClientService, values: CommandInput['values'], jwks: unknown) {
  const scopes = text(values.scopes)
  return clients
    .create({
      client_name: text(values.name) ?? '',
      redirect_uris: strings(values['redirect-uri']),
      post_logout_redirect_uris: strings(values['post-logout-redirect-uri']),
      grant_types: strings(values.grant),
      scope: scopes === undefined ? undefined : scopes.replaceAll(',', ' '),
      token_endpoint_auth_method: authMethod(values),
      id_token_signed_response_alg: text(values['id-token-alg']),
      first_party: values['first-party'] === true,
      jwks,
    })
    .catch(inFlags)
}

function printSecret(clientId: string, secret: string | null) {
  console.log(`client_id: ${clientId}`)
  if (secret === null) return
  console.log(`client_secret: ${secret}`)
  console.error(
    'The client_secret is shown this once: only its hash is kept. Store it with the client now.',
  )
}

const ADD_ONLY = [
  'name',
  'redirect-uri',
  'post-logout-redirect-uri',
  'public',
  'first-party',
  'scopes',
  'grant',
  'id-token-alg',
  'token-endpoint-auth-method',
  'jwks',
]

export const clientsCommand: Command = {
  usage,
  options: {
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    public: { type: 'boolean' },
    'first-party': { type: 'boolean' },
    scopes: { type: 'string' },
    grant: { type: 'string', multiple: true },
    'id-token-alg': { type: 'string' },
    'token-endpoint-auth-method': { type: 'string' },
    jwks: { type: 'string' },
  },
  async run({ values, positionals }, config) {
    const [action, clientId, ...rest] = positionals
    const needsId = action === 'remove' || action === 'rotate-secret'
    const known = action === 'add' || action === 'list' || needsId
    const addOptions = ADD_ONLY.some((option) => values[option] !== undefined)
    if (
      !known ||
      rest.length > 0 ||
      (needsId ? !clientId : clientId !== undefined) ||
      (action !== 'add' && addOptions)
    ) {
      throw new UsageError(usage)
    }
    if (action === 'add' && text(values.name) === undefined) {
      throw new UsageError(`usersvc: clients add needs --name\n\n${usage}`)
    }
    const jwks = action === 'add' ? await readJwks(text(values.jwks)) : undefined
    const now = () => new Date()
    return withStore(config, async (store) => {
      const clients = createClientService({
        db: store.db,
        clock: systemClock,
        // Recorded here with the system as actor, delivered by a running service's senders.
        record: eventRecorder(
          recorder(store.dialect, now, () => {}),
          now,
        ),
      })
      if (action === 'add') {
        const { client, secret } = await add(clients, values, jwks)
        printSecret(client.clientId, secret)
      } else if (action === 'list') {
        for (const client of await clients.list()) console.log(JSON.stringify(clientBody(client)))
      } else if (action === 'remove') {
        await clients.remove(clientId ?? '')
        console.log(`removed: ${clientId}`)
      } else {
        const { client, secret } = await clients.rotateSecret(clientId ?? '')
        printSecret(client.clientId, secret)
      }
      return 0
    })
  },
}
