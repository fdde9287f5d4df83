// The usersvc CLI as a process: clients add, list, rotate-secret, remove, on a real database.
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { openStore } from '../src/db/store.ts'
import { EVENTS_CHANNEL } from '../src/events/record.ts'
import {
  AUTH_METHODS,
  DEFAULT_SCOPE,
  GRANT_TYPES,
  ID_TOKEN_ALGS,
  SCOPES,
} from '../src/oidc/clients/metadata.ts'
import { clientsRepository, hashSecret, secretMatches } from '../src/oidc/clients/repository.ts'
import { cli, type Run, showRun } from './support/cli.ts'
import { assertNoSecretIn } from './support/events.ts'
import { dialects, freshDatabaseUrl, tempDir } from './support/harness.ts'

const CLIENT_ID = /^client_id: ([A-Za-z0-9_-]{22})$/m
const SECRET = /^client_secret: ([A-Za-z0-9_-]{43})$/m

/** What the database holds: clients, events and the events' outbox rows. */
async function contents(databaseUrl: string) {
  const store = openStore(databaseUrl)
  try {
    const db = store.db
    return {
      clients: await db.selectFrom('oauth_clients').selectAll().orderBy('created_at').execute(),
      stored: await clientsRepository(db).list(),
      events: await db.selectFrom('events').selectAll().orderBy('occurred_at').execute(),
      outbox: (
        await db
          .selectFrom('outbox')
          .select('payload')
          .where('channel', '=', EVENTS_CHANNEL)
          .execute()
      ).map((row) => String(row.payload)),
    }
  } finally {
    await store.destroy()
  }
}

/** The client_id (and secret) an add or rotate-secret printed; stdout holds nothing else. */
function printed(result: Run) {
  assert.equal(result.code, 0, showRun(result))
  const clientId = CLIENT_ID.exec(result.stdout)?.[1]
  const secret = SECRET.exec(result.stdout)?.[1]
  assert.ok(clientId, showRun(result))
  const lines = result.stdout.trimEnd().split('\n')
  assert.equal(lines.length, secret ? 2 : 1, showRun(result))
  if (secret) assert.match(result.stderr, /shown this once/)
  else assert.equal(result.stderr, '')
  return { clientId, secret }
}

const publicJwk = () => ({
  ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }),
  kid: 'svc-1',
})

for (const dialect of dialects()) {
  describe(`usersvc CLI: clients (${dialect})`, () => {
    async function setup(t: TestContext) {
      const harness = await cli(t)
      const databaseUrl =
        dialect === 'sqlite' ? harness.databaseUrl : await freshDatabaseUrl(t, dialect)
      const env = { DATABASE_URL: databaseUrl }
      return {
        databaseUrl,
        run: (args: string[]) => harness.run(['clients', ...args], { env }),
      }
    }

    test('add: repeated flags; prints client_id and the secret once; stores only its hash; an event by the system', async (t) => {
      const { run, databaseUrl } = await setup(t)
      const result = await run([
        'add',
        '--name',
        'Team wiki',
        '--redirect-uri',
        'https://wiki.example.com/cb',
        '--redirect-uri',
        'http://127.0.0.1:8080/cb',
        '--post-logout-redirect-uri',
        'https://wiki.example.com/',
        '--post-logout-redirect-uri',
        'https://wiki.example.com/bye',
        '--scopes',
        'openid,email,offline_access',
        '--first-party',
        '--id-token-alg',
        'RS256',
      ])
      const { clientId, secret } = printed(result)
      assert.ok(secret)
      const { clients, stored, events, outbox } = await contents(databaseUrl)
      assert.equal(clients.length, 1)
      const [row] = clients
      assert.equal(row?.client_id, clientId)
      assert.equal(row?.secret_hash, hashSecret(secret))
      assert.equal(Number(row?.first_party), 1)
      for (const value of Object.values(row ?? {})) assert.ok(!String(value).includes(secret))
      assert.ok(secretMatches(stored[0]?.secretHash ?? '', secret))
      assert.deepEqual(stored[0]?.metadata, {
        client_id: clientId,
        client_name: 'Team wiki',
        redirect_uris: ['https://wiki.example.com/cb', 'http://127.0.0.1:8080/cb'],
        post_logout_redirect_uris: ['https://wiki.example.com/', 'https://wiki.example.com/bye'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
        scope: 'openid email offline_access',
      })
      assert.equal(events.length, 1)
      const [event] = events
      assert.equal(event?.type, 'oauth.client_added')
      assert.equal(event?.actor_type, 'system')
      assert.equal(event?.actor_id, null)
      assert.equal(JSON.parse(String(event?.data)).client_id, clientId)
      assert.equal(outbox.length, 1)
      assert.ok(outbox[0]?.includes(String(event?.id)))
      assertNoSecretIn(
        [...events.map((e) => JSON.stringify(e)), ...outbox],
        [secret, String(row?.secret_hash)],
        'events and outbox',
      )
    })

    test('--public: no secret printed or stored; --grant client_credentials: no redirect URI needed', async (t) => {
      const { run, databaseUrl } = await setup(t)
      const spa = printed(
        await run([
          'add',
          '--name',
          'SPA',
          '--public',
          '--redirect-uri',
          'http://localhost:5173/cb',
        ]),
      )
      assert.equal(spa.secret, undefined)
      const service = printed(
        await run(['add', '--name', 'Billing', '--grant', 'client_credentials']),
      )
      assert.ok(service.secret)
      const { stored } = await contents(databaseUrl)
      const byId = new Map(stored.map((c) => [c.clientId, c]))
      const spaClient = byId.get(spa.clientId)
      assert.equal(spaClient?.secretHash, null)
      assert.equal(spaClient?.metadata.token_endpoint_auth_method, 'none')
      assert.equal(spaClient?.metadata.scope, 'openid profile email')
      const machine = byId.get(service.clientId)
      assert.deepEqual(machine?.metadata.grant_types, ['client_credentials'])
      assert.deepEqual(machine?.metadata.response_types, [])
      assert.deepEqual(machine?.metadata.redirect_uris, [])
      assert.equal(machine?.metadata.token_endpoint_auth_method, 'client_secret_basic')
    })

    test('private_key_jwt: --jwks from a file or inline JSON; never a private key, never without keys', async (t) => {
      const { run, databaseUrl } = await setup(t)
      const key = publicJwk()
      const file = join(await tempDir(t), 'jwks.json')
      await writeFile(file, JSON.stringify({ keys: [key] }))
      const base = [
        'add',
        '--grant',
        'client_credentials',
        '--token-endpoint-auth-method',
        'private_key_jwt',
      ]
      const fromFile = printed(await run([...base, '--name', 'Reports', '--jwks', file]))
      assert.equal(fromFile.secret, undefined)
      const inline = printed(
        await run([...base, '--name', 'Inline', '--jwks', JSON.stringify({ keys: [key] })]),
      )
      const { stored } = await contents(databaseUrl)
      for (const id of [fromFile.clientId, inline.clientId]) {
        const client = stored.find((c) => c.clientId === id)
        assert.deepEqual(client?.metadata.jwks, { keys: [key] })
        assert.equal(client?.secretHash, null)
      }

      const { privateKey } = generateKeyPairSync('ed25519')
      const secretKey = { keys: [privateKey.export({ format: 'jwk' })] }
      const leaked = await run([...base, '--name', 'Leak', '--jwks', JSON.stringify(secretKey)])
      assert.equal(leaked.code, 1, showRun(leaked))
      assert.match(leaked.stderr, /--jwks keys\.0: holds private key material \(d\)/)
      const missing = await run([...base, '--name', 'NoKeys'])
      assert.equal(missing.code, 1, showRun(missing))
      assert.match(missing.stderr, /--jwks: is required for private_key_jwt/)
      const unreadable = await run([...base, '--name', 'X', '--jwks', join(file, 'nope')])
      assert.equal(unreadable.code, 2, showRun(unreadable))
      assert.match(unreadable.stderr, /--jwks: cannot read/)
      assert.equal((await contents(databaseUrl)).clients.length, 2)
    })

    test('list, rotate-secret and remove: JSON lines without secrets; the old secret stops matching; removal takes grants and tokens', async (t) => {
      const { run, databaseUrl } = await setup(t)
      const web = printed(
        await run(['add', '--name', 'Web', '--redirect-uri', 'https://web.example/cb']),
      )
      const svc = printed(await run(['add', '--name', 'Svc', '--grant', 'client_credentials']))
      const list = await run(['list'])
      assert.equal(list.code, 0, showRun(list))
      const items = list.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line))
      assert.deepEqual(
        items.map((c) => [c.client_id, c.client_name]),
        [
          [web.clientId, 'Web'],
          [svc.clientId, 'Svc'],
        ],
      )
      assert.deepEqual(items[1].grant_types, ['client_credentials'])
      assert.equal(items[0].client_secret, undefined)
      assertNoSecretIn([list.stdout], [web.secret ?? '', svc.secret ?? ''], 'clients list')

      const rotated = printed(await run(['rotate-secret', svc.clientId]))
      assert.equal(rotated.clientId, svc.clientId)
      assert.ok(rotated.secret && rotated.secret !== svc.secret)
      let stored = (await contents(databaseUrl)).stored.find((c) => c.clientId === svc.clientId)
      assert.equal(secretMatches(stored?.secretHash ?? '', svc.secret ?? ''), false)
      assert.equal(secretMatches(stored?.secretHash ?? '', rotated.secret), true)

      // The client's grants and tokens in the provider's store go with it.
      const store = openStore(databaseUrl)
      for (const [id, client] of [
        ['svc-token', svc.clientId],
        ['web-token', web.clientId],
      ]) {
        await store.db
          .insertInto('oidc_payloads')
          .values({
            model: 'AccessToken',
            id: String(id),
            payload: '{}',
            grant_id: null,
            uid: null,
            user_code: null,
            expires_at: null,
            consumed_at: null,
            account_id: null,
            client_id: String(client),
          })
          .execute()
      }
      await store.destroy()

      const removed = await run(['remove', svc.clientId])
      assert.equal(removed.code, 0, showRun(removed))
      assert.equal(removed.stdout, `removed: ${svc.clientId}\n`)
      const after = await contents(databaseUrl)
      assert.deepEqual(
        after.stored.map((c) => c.clientId),
        [web.clientId],
      )
      stored = after.stored[0]
      assert.ok(secretMatches(stored?.secretHash ?? '', web.secret ?? ''))
      const check = openStore(databaseUrl)
      const payloads = await check.db.selectFrom('oidc_payloads').select('id').execute()
      await check.destroy()
      assert.deepEqual(
        payloads.map((row) => row.id),
        ['web-token'],
      )
      const removal = after.events.filter((e) => e.type === 'oauth.client_removed')
      assert.equal(removal.length, 1)
      assert.equal(removal[0]?.actor_type, 'system')
      assert.deepEqual(JSON.parse(String(removal[0]?.data)), {
        client_id: svc.clientId,
        client_name: 'Svc',
      })
      assertNoSecretIn(
        [...after.events.map((e) => JSON.stringify(e)), ...after.outbox],
        [web.secret ?? '', svc.secret ?? '', rotated.secret],
        'events and outbox',
      )

      for (const args of [
        ['remove', svc.clientId],
        ['rotate-secret', 'nope'],
      ]) {
        const unknown = await run(args)
        assert.equal(unknown.code, 1, showRun(unknown))
        assert.match(unknown.stderr, /^usersvc: No such client\.$/m)
      }
      const spa = printed(
        await run(['add', '--name', 'SPA', '--public', '--redirect-uri', 'https://spa.example/cb']),
      )
      const none = await run(['rotate-secret', spa.clientId])
      assert.equal(none.code, 1, showRun(none))
      assert.match(none.stderr, /no(ne)? .*secret|without a secret/)
    })
  })
}

// The rules do not depend on the database: one dialect is enough here (test/oidc/clients.test.ts
// checks the refusals on both, through the API, which shares them).
describe('usersvc CLI: clients refusals', () => {
  test('refusals exit 1 naming the option; usage errors exit 2; neither changes anything', async (t) => {
    const harness = await cli(t)
    const run = (args: string[]) => harness.run(['clients', ...args])
    const { databaseUrl } = harness
    const web = ['add', '--name', 'W', '--redirect-uri']
    const refused: Array<[string[], RegExp]> = [
      [[...web, 'http://w.example/cb'], /--redirect-uri #1: must be an https URL/],
      [
        [...web, 'https://w.example/ok', '--redirect-uri', 'https://w.example/cb#x'],
        /--redirect-uri #2: must not have a fragment/,
      ],
      [[...web, 'not-a-url'], /--redirect-uri #1: must be an absolute https:\/\/ URL/],
      [[...web, 'https://w.example/cb', '--scopes', 'openid,admin'], /--scopes: unknown: admin/],
      [
        [...web, 'https://w.example/cb', '--public', '--grant', 'client_credentials'],
        /--grant: client_credentials needs a confidential client/,
      ],
      [[...web, 'https://w.example/cb', '--grant', 'password'], /--grant #1: must be one of/],
      [
        [...web, 'https://w.example/cb', '--id-token-alg', 'HS256'],
        /--id-token-alg: must be one of EdDSA, RS256/,
      ],
      [
        [...web, 'https://w.example/cb', '--token-endpoint-auth-method', 'client_secret_jwt'],
        /--token-endpoint-auth-method: must be one of/,
      ],
      [['add', '--name', 'W'], /--redirect-uri: is required/],
      [['add', '--name', '', '--grant', 'client_credentials'], /--name: must not be empty/],
    ]
    for (const [args, message] of refused) {
      const result = await run(args)
      assert.equal(result.code, 1, showRun(result))
      assert.match(result.stderr, /^usersvc: the client is refused:/, showRun(result))
      assert.match(result.stderr, message, showRun(result))
      assert.equal(result.stdout, '')
    }
    const usage: Array<[string[], RegExp]> = [
      [['add', '--redirect-uri', 'https://w.example/cb'], /needs --name/],
      [[], /^usage: usersvc clients add/],
      [['explode'], /^usage: usersvc clients add/],
      [['list', '--name', 'x'], /^usage: usersvc clients add/],
      [['remove'], /^usage: usersvc clients add/],
      [
        [
          'add',
          '--name',
          'W',
          '--grant',
          'client_credentials',
          '--public',
          '--token-endpoint-auth-method',
          'client_secret_post',
        ],
        /--public is --token-endpoint-auth-method none/,
      ],
      [['add', '--name', 'W', '--redirect-uri'], /argument missing/],
      [
        ['add', '--name', 'W', '--grant', 'client_credentials', '--jwks', '{nope'],
        /--jwks: not valid JSON/,
      ],
    ]
    for (const [args, message] of usage) {
      const result = await run(args)
      assert.equal(result.code, 2, showRun(result))
      assert.match(result.stderr, message, showRun(result))
    }
    const after = await contents(databaseUrl)
    assert.deepEqual([after.clients.length, after.events.length, after.outbox.length], [0, 0, 0])
  })
})

describe('usersvc CLI: clients help', () => {
  test('clients --help prints its usage (with the output format) and exits 0 without touching the database', async (t) => {
    const { run, dbFile } = await cli(t)
    const result = await run(['clients', '--help'], { env: { PORT: 'abc' } })
    assert.equal(result.code, 0, showRun(result))
    assert.match(result.stdout, /^usage: usersvc clients add --name NAME --redirect-uri URL/)
    assert.match(result.stdout, /^ {2}client_id: /m)
    assert.match(result.stdout, /^ {2}client_secret: /m)
    assert.match(result.stdout, /shown this once/)
    // The words name every value the rules accept, and the default scope.
    for (const value of [...SCOPES, ...AUTH_METHODS, ...ID_TOKEN_ALGS, ...GRANT_TYPES]) {
      assert.ok(result.stdout.includes(value), value)
    }
    assert.ok(result.stdout.includes(`default: ${DEFAULT_SCOPE.replaceAll(' ', ',')}`))
    assert.equal(result.stderr, '')
    assert.equal(existsSync(dbFile), false)
    const main = await run(['--help'])
    assert.match(main.stdout, /^ {2}clients add --name NAME/m)
  })
})
