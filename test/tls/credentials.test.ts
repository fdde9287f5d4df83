import assert from 'node:assert/strict'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { loadTlsCredentials } from '../../src/tls/credentials.ts'
import { DEFAULT_SANS, ensureLeaf, ensureLocalCa } from '../../src/tls/local-ca.ts'
import { tempDir } from '../support/harness.ts'

/** A CA and a leaf for `sans` in a directory of their own, as an operator's files would be. */
async function certificateFiles(t: TestContext, sans = ['files.test', ...DEFAULT_SANS]) {
  const dir = await tempDir(t)
  const ca = await ensureLocalCa(dir)
  const leaf = await ensureLeaf(ca, 'leaf', sans)
  return { dir, ca, leaf }
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256

describe('loadTlsCredentials: the local CA', () => {
  test('without files: a certificate from the local CA, with its path and fingerprint', async (t) => {
    const dir = join(await tempDir(t), 'tls')
    const creds = await loadTlsCredentials({ enabled: true, dir, sans: [] })
    assert.ok(creds.local, 'local is set')
    assert.equal(creds.local.caPath, join(dir, 'ca.crt'))
    const caPem = await readFile(join(dir, 'ca.crt'), 'utf8')
    assert.equal(creds.local.fingerprint, fingerprint(caPem))

    assert.equal(creds.cert, await readFile(join(dir, 'server.crt'), 'utf8'))
    assert.equal(creds.key, await readFile(join(dir, 'server.key'), 'utf8'))
    const leaf = new X509Certificate(creds.cert)
    assert.ok(leaf.checkPrivateKey(createPrivateKey(creds.key)))
    assert.ok(leaf.verify(new X509Certificate(caPem).publicKey))
    assert.ok(leaf.checkHost('localhost'))
    assert.ok(leaf.checkIP('127.0.0.1'))
    assert.ok(Math.abs(creds.notAfter.getTime() - new Date(leaf.validTo).getTime()) < 1000)
  })

  test('TLS_SAN names are added to the certificate; the CA is kept', async (t) => {
    const dir = join(await tempDir(t), 'tls')
    const first = await loadTlsCredentials({ enabled: true, dir, sans: [] })
    const again = await loadTlsCredentials({ enabled: true, dir, sans: [] })
    assert.equal(again.cert, first.cert, 'reused while nothing changes')
    const wider = await loadTlsCredentials({
      enabled: true,
      dir,
      sans: ['usersvc.internal', '10.0.0.5'],
    })
    assert.equal(wider.local?.fingerprint, first.local?.fingerprint)
    assert.notEqual(wider.cert, first.cert)
    const leaf = new X509Certificate(wider.cert)
    assert.ok(leaf.checkHost('usersvc.internal'))
    assert.ok(leaf.checkIP('10.0.0.5'))
    assert.ok(leaf.checkHost('localhost'), 'the defaults stay')
  })
})

describe('loadTlsCredentials: TLS_CERT_FILE and TLS_KEY_FILE', () => {
  test('uses the files as they are, and makes no local CA', async (t) => {
    const files = await certificateFiles(t)
    const dir = join(await tempDir(t), 'tls')
    const creds = await loadTlsCredentials({
      enabled: true,
      dir,
      certFile: files.leaf.certPath,
      keyFile: files.leaf.keyPath,
      sans: ['ignored.test'],
    })
    assert.equal(creds.local, undefined)
    assert.equal(creds.cert, files.leaf.cert)
    assert.equal(creds.key, files.leaf.key)
    assert.equal(fingerprint(creds.cert), fingerprint(files.leaf.cert))
    const validTo = new Date(new X509Certificate(files.leaf.cert).validTo)
    assert.equal(creds.notAfter.getTime(), validTo.getTime())
    assert.equal(existsSync(dir), false, 'no local CA in TLS_DIR')
  })

  test('a key that is not the certificate’s is refused, naming TLS_KEY_FILE', async (t) => {
    const a = await certificateFiles(t)
    const b = await certificateFiles(t)
    await assert.rejects(
      loadTlsCredentials({
        enabled: true,
        dir: join(await tempDir(t), 'tls'),
        certFile: a.leaf.certPath,
        keyFile: b.leaf.keyPath,
        sans: [],
      }),
      (error: Error) => {
        assert.match(error.message, /TLS_KEY_FILE/)
        assert.ok(error.message.includes(b.leaf.keyPath), error.message)
        assert.ok(error.message.includes(a.leaf.certPath), error.message)
        return true
      },
    )
  })

  test('a missing file is refused with its path', async (t) => {
    const files = await certificateFiles(t)
    const missing = join(files.dir, 'nope.pem')
    await assert.rejects(
      loadTlsCredentials({
        enabled: true,
        dir: files.dir,
        certFile: missing,
        keyFile: files.leaf.keyPath,
        sans: [],
      }),
      (error: NodeJS.ErrnoException) => error.code === 'ENOENT' && error.message.includes(missing),
    )
  })

  test('TLS_CA_FILE is sent after the leaf', async (t) => {
    const files = await certificateFiles(t)
    const creds = await loadTlsCredentials({
      enabled: true,
      dir: files.dir,
      certFile: files.leaf.certPath,
      keyFile: files.leaf.keyPath,
      caFile: files.ca.caPath,
      sans: [],
    })
    assert.equal(creds.cert, `${files.leaf.cert.trimEnd()}\n${files.ca.caPem.trimEnd()}\n`)
    const blocks = creds.cert.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)
    assert.equal(blocks?.length, 2)
    assert.equal(fingerprint(blocks?.[0] ?? ''), fingerprint(files.leaf.cert), 'the leaf first')
    assert.equal(fingerprint(blocks?.[1] ?? ''), files.ca.fingerprint, 'then the chain')
    assert.equal(creds.key, files.leaf.key)
    // notAfter is the leaf's, not the chain's.
    const validTo = new Date(new X509Certificate(files.leaf.cert).validTo)
    assert.equal(creds.notAfter.getTime(), validTo.getTime())
  })

  test('a TLS_CA_FILE with surrounding blank lines still gives one clean chain', async (t) => {
    const files = await certificateFiles(t)
    const chain = join(files.dir, 'chain.pem')
    await writeFile(chain, `\n${files.ca.caPem.trimEnd()}\n\n\n`)
    const leafOnly = join(files.dir, 'leaf-only.pem')
    await writeFile(leafOnly, `${files.leaf.cert.trimEnd()}\n\n`)
    const creds = await loadTlsCredentials({
      enabled: true,
      dir: files.dir,
      certFile: leafOnly,
      keyFile: files.leaf.keyPath,
      caFile: chain,
      sans: [],
    })
    assert.ok(creds.cert.startsWith('-----BEGIN CERTIFICATE-----'))
    assert.ok(creds.cert.endsWith('-----END CERTIFICATE-----\n'))
    assert.ok(!/\n\n\n/.test(creds.cert), JSON.stringify(creds.cert))
    assert.equal(creds.cert.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2)
  })
})
