// The usersvc CLI as a process: tls init and print-ca, the local CA's files.
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { cli, showRun } from './support/cli.ts'

interface InitReport {
  caPath: string
  caNew: boolean
  fingerprint: string
  certPath: string
  certNew: boolean
  validUntil: Date
}

/** Reads the three lines `usersvc tls init` prints. */
function initReport(stdout: string): InitReport {
  const ca = /^local CA: {4}(\S+)( \(new\))?$/m.exec(stdout)
  const sha = /^SHA-256: {5}((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$/m.exec(stdout)
  const cert = /^certificate: (\S+?)( \(new\))?, valid until (\S+)$/m.exec(stdout)
  assert.ok(ca && sha && cert, `unexpected output:\n${stdout}`)
  return {
    caPath: ca[1] as string,
    caNew: Boolean(ca[2]),
    fingerprint: sha[1] as string,
    certPath: cert[1] as string,
    certNew: Boolean(cert[2]),
    validUntil: new Date(cert[3] as string),
  }
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000)

const mode = async (path: string) => (await stat(path)).mode & 0o777

describe('usersvc CLI: tls', () => {
  test('tls --help describes init and print-ca, and makes no CA', async (t) => {
    const { run, tlsDir } = await cli(t)
    const result = await run(['tls', '--help'])
    assert.equal(result.code, 0, showRun(result))
    assert.match(result.stdout, /^usage: usersvc tls init \[--name NAME\] \| print-ca$/m)
    assert.match(result.stdout, /^init {6}/m)
    assert.match(result.stdout, /^print-ca {2}/m)
    assert.equal(existsSync(tlsDir), false)
  })

  test('serve --help gives the default port with TLS (8443), not only the plain-HTTP one', async (t) => {
    const { run } = await cli(t)
    const result = await run(['serve', '--help'])
    assert.equal(result.code, 0, showRun(result))
    // TLS is on by default, and then PORT defaults to 8443 (8080 only with TLS=off).
    assert.match(result.stdout, /8443/, result.stdout)
  })

  test('tls init creates the CA and a server certificate, keys readable by the owner only', async (t) => {
    const { run, tlsDir, dbFile } = await cli(t)
    const result = await run(['tls', 'init'])
    assert.equal(result.code, 0, showRun(result))
    assert.deepEqual((await readdir(tlsDir)).sort(), [
      'ca.crt',
      'ca.key',
      'server.crt',
      'server.key',
    ])
    assert.equal(await mode(join(tlsDir, 'ca.key')), 0o600)
    assert.equal(await mode(join(tlsDir, 'server.key')), 0o600)
    assert.equal(await mode(tlsDir), 0o700)

    const report = initReport(result.stdout)
    assert.equal(report.caPath, join(tlsDir, 'ca.crt'))
    assert.equal(report.certPath, join(tlsDir, 'server.crt'))
    assert.equal(report.caNew, true, result.stdout)
    assert.equal(report.certNew, true, result.stdout)
    const ca = new X509Certificate(await readFile(join(tlsDir, 'ca.crt')))
    const leaf = new X509Certificate(await readFile(join(tlsDir, 'server.crt')))
    assert.equal(report.fingerprint, ca.fingerprint256)
    // validTo has whole seconds.
    assert.equal(seconds(report.validUntil), seconds(new Date(leaf.validTo)))
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'the leaf is signed by the CA')
    assert.equal(existsSync(dbFile), false, 'tls init does not touch the database')
  })

  test('a second tls init reuses both: nothing new, the same fingerprint', async (t) => {
    const { run, tlsDir } = await cli(t)
    const first = await run(['tls', 'init'])
    assert.equal(first.code, 0, showRun(first))
    const caPem = await readFile(join(tlsDir, 'ca.crt'), 'utf8')
    const leafPem = await readFile(join(tlsDir, 'server.crt'), 'utf8')

    const second = await run(['tls', 'init'])
    assert.equal(second.code, 0, showRun(second))
    assert.ok(!second.stdout.includes('(new)'), second.stdout)
    const a = initReport(first.stdout)
    const b = initReport(second.stdout)
    assert.equal(b.fingerprint, a.fingerprint)
    assert.equal(seconds(b.validUntil), seconds(a.validUntil))
    assert.equal(await readFile(join(tlsDir, 'ca.crt'), 'utf8'), caPem)
    assert.equal(await readFile(join(tlsDir, 'server.crt'), 'utf8'), leafPem)
  })

  test('tls init covers TLS_SAN; a new name re-issues the certificate but keeps the CA', async (t) => {
    const { run, tlsDir } = await cli(t)
    const first = await run(['tls', 'init'])
    assert.equal(first.code, 0, showRun(first))
    const second = await run(['tls', 'init'], {
      env: { TLS_SAN: 'usersvc.internal, 10.0.0.5' },
    })
    assert.equal(second.code, 0, showRun(second))
    const a = initReport(first.stdout)
    const b = initReport(second.stdout)
    assert.equal(b.caNew, false, second.stdout)
    assert.equal(b.fingerprint, a.fingerprint)
    assert.equal(b.certNew, true, second.stdout)
    const leaf = new X509Certificate(await readFile(join(tlsDir, 'server.crt')))
    const sans = (leaf.subjectAltName ?? '').split(', ')
    for (const san of ['DNS:localhost', 'IP Address:127.0.0.1', 'DNS:usersvc.internal']) {
      assert.ok(sans.includes(san), `${san} not in ${leaf.subjectAltName}`)
    }
    assert.ok(sans.includes('IP Address:10.0.0.5'), leaf.subjectAltName)
  })

  test('tls print-ca writes the CA (PEM) to stdout and its fingerprint to stderr', async (t) => {
    const { run, tlsDir } = await cli(t)
    const init = await run(['tls', 'init'])
    assert.equal(init.code, 0, showRun(init))
    const result = await run(['tls', 'print-ca'])
    assert.equal(result.code, 0, showRun(result))
    const pem = await readFile(join(tlsDir, 'ca.crt'), 'utf8')
    assert.equal(result.stdout, pem)
    assert.match(
      result.stdout,
      /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n?$/,
    )
    const fingerprint = new X509Certificate(pem).fingerprint256
    assert.equal(result.stderr, `SHA-256 fingerprint: ${fingerprint}\n`)
    assert.equal(fingerprint, initReport(init.stdout).fingerprint)
  })

  test('tls print-ca on a fresh TLS_DIR makes the CA it prints', async (t) => {
    const { run, tlsDir } = await cli(t)
    const result = await run(['tls', 'print-ca'])
    assert.equal(result.code, 0, showRun(result))
    assert.equal(result.stdout, await readFile(join(tlsDir, 'ca.crt'), 'utf8'))
    assert.equal(await mode(join(tlsDir, 'ca.key')), 0o600)
  })

  test('tls with a bad subcommand, or none, exits 2 with its usage', async (t) => {
    const { run } = await cli(t)
    for (const args of [['tls', 'bogus'], ['tls']]) {
      const result = await run(args)
      assert.equal(result.code, 2, `${args.join(' ')}: ${showRun(result)}`)
      assert.match(result.stderr, /usage: usersvc tls init \[--name NAME\] \| print-ca/)
      assert.equal(result.stdout, '')
    }
  })

  test('tls with a bad subcommand leaves TLS_DIR alone (a usage error has no side effects)', async (t) => {
    const { run, tlsDir } = await cli(t)
    const result = await run(['tls', 'bogus'])
    assert.equal(result.code, 2, showRun(result))
    assert.equal(existsSync(tlsDir), false, `tls bogus created ${tlsDir}`)
  })

  test('tls init with a bad variable exits 1 naming it and makes no CA', async (t) => {
    const { run, tlsDir } = await cli(t)
    const result = await run(['tls', 'init'], { env: { TLS_SAN: 'bad/name' } })
    assert.equal(result.code, 1, showRun(result))
    assert.match(result.stderr, /TLS_SAN/)
    assert.equal(existsSync(tlsDir), false)
  })

  test('tls init --name nginx makes nginx.crt and nginx.key, signed by the local CA', async (t) => {
    const { run, tlsDir } = await cli(t)
    const result = await run(['tls', 'init', '--name', 'nginx'])
    assert.equal(result.code, 0, showRun(result))
    assert.deepEqual((await readdir(tlsDir)).sort(), ['ca.crt', 'ca.key', 'nginx.crt', 'nginx.key'])
    assert.equal(await mode(join(tlsDir, 'nginx.key')), 0o600)
    const report = initReport(result.stdout)
    assert.equal(report.certPath, join(tlsDir, 'nginx.crt'))
    assert.equal(report.certNew, true, result.stdout)
    const ca = new X509Certificate(await readFile(join(tlsDir, 'ca.crt')))
    const leaf = new X509Certificate(await readFile(join(tlsDir, 'nginx.crt')))
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'the leaf is signed by the CA')
  })

  test('tls init with a --name that is not letters, digits and - exits 2 and makes nothing', async (t) => {
    const { run, tlsDir } = await cli(t)
    for (const name of ['bad name', '../escape', 'UPPER']) {
      const result = await run(['tls', 'init', '--name', name])
      assert.equal(result.code, 2, `${name}: ${showRun(result)}`)
      assert.match(result.stderr, /--name takes letters, digits and - only/)
      assert.equal(result.stdout, '')
    }
    const made = existsSync(tlsDir) ? await readdir(tlsDir) : []
    assert.deepEqual(made, [], 'no CA and no certificate')
  })
})
