import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { ROOT, tempDir } from '../support/harness.ts'
import { postJson } from '../support/http.ts'
import { startServer } from '../support/processes.ts'

/** The shell block under a README heading. */
async function readmeBlock(heading: string): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf(`## ${heading}`))
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1]
  assert.ok(block, `no sh block under "${heading}"`)
  return block
}

function bash(script: string, cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out }))
  })
}

test('the README’s curl walk-through works as written, on any PORT, and writes no file', async (t) => {
  // A newcomer's checkout: the service keeps its CA under data/tls of the folder they are in.
  const checkout = await tempDir(t)
  const server = await startServer(t, { tlsDir: join(checkout, 'data', 'tls') })
  const script = await readmeBlock('Try it with curl')
  const { code, out } = await bash(script, checkout, { PORT: String(server.port) })
  assert.equal(code, 0, out)
  assert.match(out, /^HTTP\/2 201/m, out)
  assert.match(out, /"login":"alice","role":"user"/, out)
  assert.match(out, /"token_type":"Bearer"/, out)
  assert.match(out, /"keys":\[\{/, out)
  // Nothing but the service's own data/: a live refresh token must not land in a file.
  assert.deepEqual(await readdir(checkout), ['data'])
})

test('the README’s email and recovery walk-through works as written, with the mail in data/mail/', async (t) => {
  // As `npm start` in a checkout: the CA under data/tls, the mail as files under data/mail.
  const checkout = await tempDir(t)
  const server = await startServer(t, {
    tlsDir: join(checkout, 'data', 'tls'),
    env: { MAIL_DIR: join(checkout, 'data', 'mail') },
  })
  const script = await readmeBlock('Email and recovery')
  const { code, out } = await bash(script, checkout, { PORT: String(server.port) })
  assert.equal(code, 0, out)
  assert.match(out, /"email":"bob@example.com","email_verified":true/, out)
  assert.match(out, /HTTP\/2 204 /, out)
  // The new password is the one now: the old one is refused, the new one logs in.
  const agent = await server.dispatcher()
  const answers = []
  for (const password of ['correct horse battery staple', 'a new long passphrase of mine']) {
    answers.push(
      (await postJson(`${server.base}/session/`, agent, { login: 'bob', password })).statusCode,
    )
  }
  assert.deepEqual(answers, [401, 200])
})

test('the README’s authenticator-app walk-through works as written: enrol, then an AAL2 login', async (t) => {
  const checkout = await tempDir(t)
  const server = await startServer(t, { tlsDir: join(checkout, 'data', 'tls') })
  const script = await readmeBlock('Second factors, passkeys and sessions')
  const { code, out } = await bash(script, checkout, { PORT: String(server.port) })
  assert.equal(code, 0, out)
  // The confirmed factor, then the two sessions: the password's and the second step's.
  assert.match(out, /"type":"totp","name":"Phone"/, out)
  assert.match(out, /\{"aal":"aal2","current":true\}$/m, out)
  assert.match(out, /^\{"aal":"aal1","current":false\}$/m, out)
})
