import assert from 'node:assert/strict'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
// @peculiar/x509 needs this polyfill before it is loaded (as in src/tls/local-ca.ts).
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { DEFAULT_SANS, ensureLeaf, ensureLocalCa } from '../../src/tls/local-ca.ts'
import { tempDir } from '../support/harness.ts'

const DAY = 24 * 60 * 60 * 1000

/** A TLS directory that does not exist yet (ensureLocalCa creates it). */
async function tlsDir(t: TestContext): Promise<string> {
  return join(await tempDir(t), 'tls')
}

const mode = async (path: string) => (await stat(path)).mode & 0o777

/** The entries of a certificate's subjectAltName, as node:crypto prints them. */
function altNames(pem: string): string[] {
  return (new X509Certificate(pem).subjectAltName ?? '').split(', ')
}

function extensions(pem: string) {
  const cert = new x509.X509Certificate(pem)
  return {
    basic: cert.getExtension(x509.BasicConstraintsExtension),
    usage: cert.getExtension(x509.KeyUsagesExtension),
    extended: cert.getExtension(x509.ExtendedKeyUsageExtension),
  }
}

describe('ensureLocalCa', () => {
  test('makes a CA: CA:TRUE, keyCertSign, a key that matches, ten years', async (t) => {
    const dir = await tlsDir(t)
    const now = new Date()
    const ca = await ensureLocalCa(dir, now)
    assert.equal(ca.renewed, true)
    assert.equal(ca.dir, dir)
    assert.equal(ca.caPath, join(dir, 'ca.crt'))
    assert.equal(await readFile(ca.caPath, 'utf8'), ca.caPem)

    const cert = new X509Certificate(ca.caPem)
    assert.equal(cert.ca, true)
    assert.equal(cert.subject, cert.issuer, 'self-signed')
    assert.ok(cert.verify(cert.publicKey), 'self-signature verifies')
    assert.equal(ca.fingerprint, cert.fingerprint256)
    assert.match(ca.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    const { basic, usage } = extensions(ca.caPem)
    assert.equal(basic?.ca, true)
    assert.equal(basic?.critical, true)
    assert.ok(usage, 'has a KeyUsage extension')
    assert.ok(usage.usages & x509.KeyUsageFlags.keyCertSign, 'keyCertSign')
    assert.equal(usage.critical, true)

    const key = createPrivateKey(await readFile(join(dir, 'ca.key'), 'utf8'))
    assert.ok(cert.checkPrivateKey(key), 'ca.key is the key of ca.crt')
    const lifetime = new Date(cert.validTo).getTime() - now.getTime()
    assert.ok(Math.abs(lifetime - 3650 * DAY) < DAY, `CA lifetime ${lifetime / DAY} days`)
    assert.ok(new Date(cert.validFrom).getTime() <= now.getTime())
  })

  test('the directory is 0700, the key 0600, and no temporary files are left', async (t) => {
    const dir = await tlsDir(t)
    const ca = await ensureLocalCa(dir)
    await ensureLeaf(ca, 'server', DEFAULT_SANS)
    assert.equal(await mode(dir), 0o700)
    assert.equal(await mode(join(dir, 'ca.key')), 0o600)
    assert.equal(await mode(join(dir, 'server.key')), 0o600)
    assert.deepEqual((await readdir(dir)).sort(), ['ca.crt', 'ca.key', 'server.crt', 'server.key'])
  })

  test('is reused on the next call: same certificate, same fingerprint, not renewed', async (t) => {
    const dir = await tlsDir(t)
    const first = await ensureLocalCa(dir)
    const keyBefore = await readFile(join(dir, 'ca.key'), 'utf8')
    const second = await ensureLocalCa(dir)
    assert.equal(second.renewed, false)
    assert.equal(second.fingerprint, first.fingerprint)
    assert.equal(second.caPem, first.caPem)
    assert.equal(await readFile(join(dir, 'ca.key'), 'utf8'), keyBefore)
  })

  test('is re-created within 180 days of its expiry, not before', async (t) => {
    const dir = await tlsDir(t)
    const first = await ensureLocalCa(dir)
    const expiry = new Date(new X509Certificate(first.caPem).validTo).getTime()

    const early = await ensureLocalCa(dir, new Date(expiry - 181 * DAY))
    assert.equal(early.renewed, false)
    assert.equal(early.fingerprint, first.fingerprint)

    const late = await ensureLocalCa(dir, new Date(expiry - 179 * DAY))
    assert.equal(late.renewed, true)
    assert.notEqual(late.fingerprint, first.fingerprint)
    assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), late.caPem)
    const cert = new X509Certificate(late.caPem)
    assert.ok(new Date(cert.validTo).getTime() > expiry + 3000 * DAY, 'a fresh ten years')
    assert.ok(cert.checkPrivateKey(createPrivateKey(await readFile(join(dir, 'ca.key'), 'utf8'))))
  })

  test('an expired or unreadable ca.crt, or a missing ca.key, makes a new CA', async (t) => {
    const dir = await tlsDir(t)
    const first = await ensureLocalCa(dir)
    const expiry = new Date(new X509Certificate(first.caPem).validTo).getTime()
    const expired = await ensureLocalCa(dir, new Date(expiry + DAY))
    assert.equal(expired.renewed, true)

    await rm(join(dir, 'ca.key'))
    const keyless = await ensureLocalCa(dir)
    assert.equal(keyless.renewed, true)
    assert.notEqual(keyless.fingerprint, expired.fingerprint)
  })

  test('callers racing to create it end up with one CA, its key beside it', async (t) => {
    const dir = await tlsDir(t)
    // Calls made together usually start within the same millisecond; make that certain, so the
    // outcome does not depend on the scheduler.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
    const settled = await Promise.allSettled([0, 1, 2].map(() => ensureLocalCa(dir)))
    const results = settled.map((result) => {
      assert.equal(result.status, 'fulfilled', String((result as PromiseRejectedResult).reason))
      return (result as PromiseFulfilledResult<Awaited<ReturnType<typeof ensureLocalCa>>>).value
    })
    const fingerprints = new Set(results.map((ca) => ca.fingerprint))
    assert.equal(fingerprints.size, 1, [...fingerprints].join(' '))
    assert.equal(results.filter((ca) => ca.renewed).length, 1, 'made once')
    const caPem = await readFile(join(dir, 'ca.crt'), 'utf8')
    assert.equal(new X509Certificate(caPem).fingerprint256, results[0]?.fingerprint)
    assert.ok(
      new X509Certificate(caPem).checkPrivateKey(
        createPrivateKey(await readFile(join(dir, 'ca.key'), 'utf8')),
      ),
      'ca.key is the key of ca.crt',
    )
    assert.deepEqual((await readdir(dir)).sort(), ['ca.crt', 'ca.key'])
  })

  test('while another process holds ca.lock, its CA is awaited and used; a stale lock is taken over', async (t) => {
    // Another process is making the CA: it holds the lock, writes ca.key, then ca.crt.
    const theirs = await ensureLocalCa(await tlsDir(t))
    const dir = await tlsDir(t)
    await mkdir(dir)
    await writeFile(join(dir, 'ca.lock'), '')
    await writeFile(join(dir, 'ca.key'), await readFile(join(theirs.dir, 'ca.key')))
    const waiting = ensureLocalCa(dir)
    await new Promise((resolve) => setTimeout(resolve, 300))
    await writeFile(join(dir, 'ca.crt'), theirs.caPem)
    await rm(join(dir, 'ca.lock'))
    const ca = await waiting
    assert.equal(ca.renewed, false)
    assert.equal(ca.fingerprint, theirs.fingerprint)

    // A process killed while it held the lock left it, and a key without its certificate: once
    // the lock is old enough, a new CA is made under it, and the lock is gone afterwards.
    const leftover = await tlsDir(t)
    await mkdir(leftover)
    await writeFile(join(leftover, 'ca.key'), await readFile(join(theirs.dir, 'ca.key')))
    await writeFile(join(leftover, 'ca.lock'), '')
    const longAgo = new Date(Date.now() - 60_000)
    await utimes(join(leftover, 'ca.lock'), longAgo, longAgo)
    const fresh = await ensureLocalCa(leftover)
    assert.equal(fresh.renewed, true)
    assert.notEqual(fresh.fingerprint, theirs.fingerprint)
    assert.ok(
      new X509Certificate(await readFile(join(leftover, 'ca.crt'), 'utf8')).checkPrivateKey(
        createPrivateKey(await readFile(join(leftover, 'ca.key'), 'utf8')),
      ),
    )
    assert.deepEqual((await readdir(leftover)).sort(), ['ca.crt', 'ca.key'])
  })

  test('callers racing to renew it leave a matching ca.crt and ca.key', async (t) => {
    const dir = await tlsDir(t)
    const first = await ensureLocalCa(dir)
    const expiry = new Date(new X509Certificate(first.caPem).validTo).getTime()
    const now = new Date(expiry - 100 * DAY)
    const results = await Promise.allSettled([ensureLocalCa(dir, now), ensureLocalCa(dir, now)])
    for (const result of results) {
      assert.equal(result.status, 'fulfilled', String((result as PromiseRejectedResult).reason))
    }
    const caPem = await readFile(join(dir, 'ca.crt'), 'utf8')
    const keyPem = await readFile(join(dir, 'ca.key'), 'utf8')
    assert.ok(
      new X509Certificate(caPem).checkPrivateKey(createPrivateKey(keyPem)),
      'ca.key is the key of ca.crt',
    )
    const ca = await ensureLocalCa(dir, now)
    const leaf = await ensureLeaf(ca, 'server', DEFAULT_SANS, now)
    assert.ok(new X509Certificate(leaf.cert).verify(new X509Certificate(caPem).publicKey))
  })

  test('a ca.key that is not the key of ca.crt never yields leaves that ca.crt does not verify', async (t) => {
    // What a torn renewal (or an operator copying files) can leave behind.
    const dir = await tlsDir(t)
    await ensureLocalCa(dir)
    const stranger = await ensureLocalCa(await tlsDir(t))
    await writeFile(join(dir, 'ca.key'), await readFile(join(stranger.dir, 'ca.key')))

    const ca = await ensureLocalCa(dir)
    const leaf = await ensureLeaf(ca, 'server', DEFAULT_SANS)
    const onDisk = new X509Certificate(await readFile(join(dir, 'ca.crt'), 'utf8'))
    assert.equal(ca.fingerprint, onDisk.fingerprint256)
    assert.ok(
      new X509Certificate(leaf.cert).verify(onDisk.publicKey),
      'the leaf does not verify against ca.crt (the CA key and certificate do not match)',
    )
  })

  test('the certificate files are text files ending with a newline (they get concatenated)', async (t) => {
    const dir = await tlsDir(t)
    const ca = await ensureLocalCa(dir)
    await ensureLeaf(ca, 'server', DEFAULT_SANS)
    for (const name of ['ca.crt', 'ca.key', 'server.crt', 'server.key']) {
      const text = await readFile(join(dir, name), 'utf8')
      assert.ok(text.endsWith('-----\n'), `${name} does not end with a newline`)
    }
  })
})

describe('ensureLeaf', () => {
  test('issues a server certificate that verifies against the CA', async (t) => {
    const dir = await tlsDir(t)
    const now = new Date()
    const ca = await ensureLocalCa(dir, now)
    const leaf = await ensureLeaf(ca, 'server', DEFAULT_SANS, now)
    assert.equal(leaf.renewed, true)
    assert.equal(leaf.certPath, join(dir, 'server.crt'))
    assert.equal(leaf.keyPath, join(dir, 'server.key'))
    assert.equal(await readFile(leaf.certPath, 'utf8'), leaf.cert)
    assert.equal(await readFile(leaf.keyPath, 'utf8'), leaf.key)

    const caCert = new X509Certificate(ca.caPem)
    const cert = new X509Certificate(leaf.cert)
    assert.ok(cert.checkIssued(caCert), 'issued by the CA')
    assert.ok(cert.verify(caCert.publicKey), 'signed by the CA key')
    assert.ok(cert.checkPrivateKey(createPrivateKey(leaf.key)), 'the key matches')
    assert.equal(cert.ca, false)
    assert.equal(cert.subject, 'CN=localhost')
    assert.ok(cert.checkHost('localhost'))
    assert.ok(cert.checkIP('127.0.0.1'))
    assert.ok(cert.checkIP('::1'))

    // Another CA's key does not verify it.
    const other = await ensureLocalCa(await tlsDir(t), now)
    assert.equal(cert.verify(new X509Certificate(other.caPem).publicKey), false)

    const { basic, usage, extended } = extensions(leaf.cert)
    assert.equal(basic?.ca, false)
    assert.ok(usage && usage.usages & x509.KeyUsageFlags.digitalSignature)
    assert.equal(usage && usage.usages & x509.KeyUsageFlags.keyCertSign, 0, 'cannot sign certs')
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'EKU serverAuth')
    assert.ok(extended?.usages.includes('1.3.6.1.5.5.7.3.1'))

    const lifetime = new Date(cert.validTo).getTime() - now.getTime()
    assert.ok(Math.abs(lifetime - 90 * DAY) < DAY, `leaf lifetime ${lifetime / DAY} days`)
    assert.ok(Math.abs(leaf.notAfter.getTime() - new Date(cert.validTo).getTime()) < 1000)
  })

  test('covers localhost, 127.0.0.1, ::1 and the extra names and addresses', async (t) => {
    const ca = await ensureLocalCa(await tlsDir(t))
    const leaf = await ensureLeaf(ca, 'server', [
      ...DEFAULT_SANS,
      'usersvc.internal',
      '10.0.0.5',
      'fe80::1',
      '*.dev.test',
    ])
    const names = altNames(leaf.cert)
    for (const san of [
      'DNS:localhost',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'DNS:usersvc.internal',
      'IP Address:10.0.0.5',
      'IP Address:FE80:0:0:0:0:0:0:1',
      'DNS:*.dev.test',
    ]) {
      assert.ok(names.includes(san), `${san} not in ${names.join(', ')}`)
    }
    // An address is an IP SAN, never a DNS name.
    assert.ok(!names.some((name) => /^DNS:[\d.:]+$/.test(name)), names.join(', '))
    const cert = new X509Certificate(leaf.cert)
    assert.ok(cert.checkHost('usersvc.internal'))
    assert.ok(cert.checkHost('api.dev.test'))
    assert.ok(cert.checkIP('10.0.0.5'))
    assert.ok(cert.checkIP('fe80::1'))
    assert.equal(cert.checkHost('example.com'), undefined)
  })

  test('is reused while valid, signed by the CA and covering the names', async (t) => {
    const dir = await tlsDir(t)
    const ca = await ensureLocalCa(dir)
    const sans = [...DEFAULT_SANS, 'usersvc.internal', 'fe80::1']
    const first = await ensureLeaf(ca, 'server', sans)
    const again = await ensureLeaf(await ensureLocalCa(dir), 'server', sans)
    assert.equal(again.renewed, false)
    assert.equal(again.cert, first.cert)
    assert.equal(again.key, first.key)
    assert.equal(
      new X509Certificate(again.cert).fingerprint256,
      new X509Certificate(first.cert).fingerprint256,
    )
    // Fewer names, or the same ones spelled differently, are still covered.
    const subset = await ensureLeaf(ca, 'server', ['LOCALHOST', 'FE80::1', '0:0:0:0:0:0:0:1'])
    assert.equal(subset.renewed, false)
    assert.equal(subset.cert, first.cert)
  })

  test('is re-issued within 30 days of its expiry, not before', async (t) => {
    const dir = await tlsDir(t)
    const ca = await ensureLocalCa(dir)
    const first = await ensureLeaf(ca, 'server', DEFAULT_SANS)
    const expiry = new Date(new X509Certificate(first.cert).validTo).getTime()

    const early = await ensureLeaf(ca, 'server', DEFAULT_SANS, new Date(expiry - 31 * DAY))
    assert.equal(early.renewed, false)
    assert.equal(early.cert, first.cert)

    const now = new Date(expiry - 29 * DAY)
    const late = await ensureLeaf(ca, 'server', DEFAULT_SANS, now)
    assert.equal(late.renewed, true)
    assert.notEqual(late.cert, first.cert)
    assert.notEqual(late.key, first.key, 'a new key, too')
    assert.equal(await readFile(join(dir, 'server.crt'), 'utf8'), late.cert)
    const cert = new X509Certificate(late.cert)
    assert.ok(new Date(cert.validTo).getTime() > expiry + 59 * DAY, 'valid 90 days from `now`')
    assert.ok(cert.verify(new X509Certificate(ca.caPem).publicKey))
  })

  test('is re-issued when a name it does not cover is asked for', async (t) => {
    const dir = await tlsDir(t)
    const ca = await ensureLocalCa(dir)
    const first = await ensureLeaf(ca, 'server', DEFAULT_SANS)
    const wider = await ensureLeaf(ca, 'server', [...DEFAULT_SANS, 'usersvc.internal'])
    assert.equal(wider.renewed, true)
    assert.notEqual(wider.cert, first.cert)
    assert.ok(altNames(wider.cert).includes('DNS:usersvc.internal'))
    for (const san of ['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1']) {
      assert.ok(altNames(wider.cert).includes(san), san)
    }
    const address = await ensureLeaf(ca, 'server', [
      ...DEFAULT_SANS,
      'usersvc.internal',
      '10.1.2.3',
    ])
    assert.equal(address.renewed, true)
    assert.ok(altNames(address.cert).includes('IP Address:10.1.2.3'))
  })

  test('is re-issued when its key file is missing', async (t) => {
    const dir = await tlsDir(t)
    const ca = await ensureLocalCa(dir)
    const first = await ensureLeaf(ca, 'server', DEFAULT_SANS)
    await rm(join(dir, 'server.key'))
    const again = await ensureLeaf(ca, 'server', DEFAULT_SANS)
    assert.equal(again.renewed, true)
    assert.notEqual(again.cert, first.cert)
    const cert = new X509Certificate(again.cert)
    assert.ok(cert.checkPrivateKey(createPrivateKey(await readFile(join(dir, 'server.key')))))
  })

  test('is re-issued by a new CA when the CA changes, and verifies against the new one only', async (t) => {
    const dir = await tlsDir(t)
    const oldCa = await ensureLocalCa(dir)
    const first = await ensureLeaf(oldCa, 'server', DEFAULT_SANS)
    await rm(join(dir, 'ca.crt'))
    await rm(join(dir, 'ca.key'))

    const newCa = await ensureLocalCa(dir)
    assert.equal(newCa.renewed, true)
    assert.notEqual(newCa.fingerprint, oldCa.fingerprint)
    const leaf = await ensureLeaf(newCa, 'server', DEFAULT_SANS)
    assert.equal(leaf.renewed, true)
    assert.notEqual(leaf.cert, first.cert)
    const cert = new X509Certificate(leaf.cert)
    const newCaCert = new X509Certificate(newCa.caPem)
    assert.ok(cert.checkIssued(newCaCert))
    assert.ok(cert.verify(newCaCert.publicKey))
    assert.equal(cert.verify(new X509Certificate(oldCa.caPem).publicKey), false)
  })

  test('a renewed CA (near its expiry) leads to a re-issued leaf', async (t) => {
    const dir = await tlsDir(t)
    const ca = await ensureLocalCa(dir)
    const first = await ensureLeaf(ca, 'server', DEFAULT_SANS)
    const expiry = new Date(new X509Certificate(ca.caPem).validTo).getTime()
    const now = new Date(expiry - 100 * DAY)
    const renewedCa = await ensureLocalCa(dir, now)
    assert.equal(renewedCa.renewed, true)
    const leaf = await ensureLeaf(renewedCa, 'server', DEFAULT_SANS, now)
    assert.equal(leaf.renewed, true)
    assert.notEqual(leaf.cert, first.cert)
    assert.ok(new X509Certificate(leaf.cert).verify(new X509Certificate(renewedCa.caPem).publicKey))
  })

  test('other names live side by side in the same directory', async (t) => {
    const dir = await tlsDir(t)
    const ca = await ensureLocalCa(dir)
    const server = await ensureLeaf(ca, 'server', DEFAULT_SANS)
    const upstream = await ensureLeaf(ca, 'upstream', ['usersvc.upstream'])
    assert.equal(upstream.certPath, join(dir, 'upstream.crt'))
    assert.equal(new X509Certificate(upstream.cert).subject, 'CN=usersvc.upstream')
    assert.equal(await mode(upstream.keyPath), 0o600)
    const again = await ensureLeaf(ca, 'server', DEFAULT_SANS)
    assert.equal(again.renewed, false)
    assert.equal(again.cert, server.cert)
  })
})
