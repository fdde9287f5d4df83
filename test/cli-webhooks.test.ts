// The usersvc CLI as a process: webhooks add.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { openStore } from '../src/db/store.ts'
import { cli, showRun } from './support/cli.ts'

async function webhooks(databaseUrl: string) {
  const store = openStore(databaseUrl)
  try {
    return await store.db.selectFrom('webhooks').selectAll().execute()
  } finally {
    await store.destroy()
  }
}

describe('usersvc CLI: webhooks add', () => {
  test('adds an endpoint and prints its id and secret (a Standard Webhooks secret), once', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const result = await run([
      'webhooks',
      'add',
      'https://hooks.example.com/in',
      '--types',
      'user.registered,user.deleted',
    ])
    assert.equal(result.code, 0, showRun(result))
    const id = /^id: +([0-9a-f-]{36})$/m.exec(result.stdout)?.[1]
    const secret = /^secret: +(whsec_[A-Za-z0-9+/]{43}=)$/m.exec(result.stdout)?.[1]
    assert.ok(id && secret, showRun(result))
    assert.doesNotThrow(() => new Webhook(secret))
    const [row, ...more] = await webhooks(databaseUrl)
    assert.equal(more.length, 0)
    assert.equal(row?.id, id)
    assert.equal(row?.url, 'https://hooks.example.com/in')
    assert.deepEqual(JSON.parse(String(row?.types)), ['user.registered', 'user.deleted'])
    assert.equal(Number(row?.enabled), 1)

    const all = await run(['webhooks', 'add', 'http://127.0.0.1:9000/hook'])
    assert.equal(all.code, 0, showRun(all))
    assert.equal((await webhooks(databaseUrl))[1]?.types, null)
  })

  test('with SIGNING_KEY_SECRET the stored secret is sealed', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const env = { SIGNING_KEY_SECRET: 'a long enough secret for sealing secrets at rest' }
    const result = await run(['webhooks', 'add', 'https://hooks.example.com/in'], { env })
    assert.equal(result.code, 0, showRun(result))
    const secret = /^secret: +(\S+)$/m.exec(result.stdout)?.[1] ?? ''
    const [row] = await webhooks(databaseUrl)
    assert.ok(row && !row.secret.includes(secret.slice(6)))
  })

  test('a refused URL exits 1 naming the rule; unknown types and a missing URL exit 2 with usage', async (t) => {
    const { run, databaseUrl } = await cli(t)
    const insecure = await run(['webhooks', 'add', 'http://hooks.example.com/'])
    assert.equal(insecure.code, 1, showRun(insecure))
    assert.match(insecure.stderr, /url: must be an https URL/)
    const types = await run(['webhooks', 'add', 'https://a.example/', '--types', 'user.exploded'])
    assert.equal(types.code, 2, showRun(types))
    assert.match(types.stderr, /unknown event type: user\.exploded/)
    const bare = await run(['webhooks', 'add'])
    assert.equal(bare.code, 2, showRun(bare))
    assert.match(bare.stderr, /^usage: usersvc webhooks add URL/)
    assert.deepEqual(await webhooks(databaseUrl), [])
  })
})
