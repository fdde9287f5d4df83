// "An app on another origin signs users in through usersvc with single sign-on" (issue 15):
// examples/oidc-app.ts runs as written, twice, as child processes on two ports of 127.0.0.1 (two
// origins), each registered with `usersvc clients add` as the README says. Chromium signs in on
// the first through the usersvc page; the second then signs in without a password.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { describe, type TestContext, test } from 'node:test'
import type { Page } from 'playwright-core'
import { inTab, useBrowser } from '../support/browser.ts'
import { run, showRun } from '../support/cli.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, ROOT } from '../support/harness.ts'
import { type Provider, serveProvider } from '../support/oidc.ts'
import { fillSignIn, heading, recordRequests } from '../support/page.ts'
import { freePort } from '../support/ports.ts'
import { PASSWORD, register } from '../support/requests.ts'

const browser = useBrowser()

/** `usersvc clients add` for the app at `appUrl`, as the README's first step; its credentials. */
async function registerApp(provider: Provider, name: string, appUrl: string) {
  const added = await run(
    ['clients', 'add', '--name', name, '--redirect-uri', `${appUrl}/callback`],
    {
      env: { DATABASE_URL: provider.databaseUrl },
    },
  )
  assert.equal(added.code, 0, showRun(added))
  const clientId = /^client_id: (\S+)$/m.exec(added.stdout)?.[1]
  const clientSecret = /^client_secret: (\S+)$/m.exec(added.stdout)?.[1]
  assert.ok(clientId && clientSecret, showRun(added))
  return { clientId, clientSecret }
}

/** `node examples/oidc-app.ts` on a free port of 127.0.0.1, once it answers; killed after the test. */
async function startApp(t: TestContext, provider: Provider, name: string): Promise<string> {
  const appUrl = `http://127.0.0.1:${await freePort()}`
  const { clientId, clientSecret } = await registerApp(provider, name, appUrl)
  let output = ''
  const child: ChildProcess = spawn(process.execPath, ['examples/oidc-app.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ISSUER: provider.origin,
      CLIENT_ID: clientId,
      CLIENT_SECRET: clientSecret,
      APP_URL: appUrl,
      NODE_EXTRA_CA_CERTS: provider.caPath,
    },
  })
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const closed = new Promise((done) => child.on('close', done))
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await closed
  })
  // It listens once discovery (over HTTPS, through the local CA) has answered.
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`the app exited: ${output}`)
      return (await fetch(appUrl)).status
    },
    {
      what: `${name} answering on ${appUrl}`,
      until: (status) => status === 200,
      retryErrors: true,
    },
  )
  return appUrl
}

/** Opens the app and clicks its sign-in link: the browser goes to usersvc. */
async function signInWithUsersvc(page: Page, appUrl: string) {
  await page.goto(appUrl)
  await heading(page, 'Welcome').waitFor()
  await page.getByRole('link', { name: 'Sign in with usersvc' }).click()
}

async function liveSessions(provider: Provider) {
  const rows = await provider.app.store.db
    .selectFrom('sessions')
    .select('id')
    .where('ended_at', 'is', null)
    .execute()
  return rows.length
}

for (const dialect of dialects()) {
  describe(`the example app on two origins (${dialect})`, () => {
    test('signing in on the first app asks for the password on the usersvc page; the second app then signs in with single sign-on, no password asked', async (t) => {
      const provider = await serveProvider(t, dialect)
      assert.equal((await register(provider.app, 'alice')).statusCode, 201)
      const first = await startApp(t, provider, 'Photos')
      const second = await startApp(t, provider, 'Mail')
      assert.notEqual(new URL(first).origin, new URL(second).origin)

      await inTab(browser(), provider, async (tab) => {
        const { page } = tab
        const requests = recordRequests(tab)
        await signInWithUsersvc(page, first)
        await heading(page, 'Sign in to continue to Photos').waitFor()
        await fillSignIn(page, 'alice', PASSWORD)
        await heading(page, 'Allow Photos to use your account?').waitFor()
        await page.getByRole('button', { name: 'Allow' }).click()
        await heading(page, 'Hello, alice').waitFor()
        assert.equal(new URL(page.url()).origin, first)
        assert.equal(requests.count('POST', '/session/'), 1, 'one sign-in with the password')
        assert.equal(await liveSessions(provider), 1)

        // The second app (a third-party one too: it asks for consent, never for the password).
        await signInWithUsersvc(page, second)
        await heading(page, 'Allow Mail to use your account?').waitFor()
        assert.equal(await page.getByLabel('Password', { exact: true }).count(), 0)
        await page.getByRole('button', { name: 'Allow' }).click()
        await heading(page, 'Hello, alice').waitFor()
        assert.equal(new URL(page.url()).origin, second)
        assert.equal(requests.count('POST', '/session/'), 1, 'no second sign-in')
        assert.equal(await liveSessions(provider), 1, 'the same usersvc session')
      })
    })
  })
}
