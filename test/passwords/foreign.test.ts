// Hashes made by other systems' real libraries (test/passwords/foreign-hashes.py, one Python
// process for the file) recognised, refused and verified by src/passwords/foreign.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { before, describe, test } from 'node:test'
import { type Algorithm, hash as argon2Hash } from '@node-rs/argon2'
import { hash as bcryptHash } from '@node-rs/bcrypt'
import {
  exportedHash,
  isForeign,
  parseImportedHash,
  schemeOf,
  verifyForeign,
} from '../../src/passwords/foreign/index.ts'
import type {
  FirebaseParams,
  ParsedHash,
  StructuredDigest,
} from '../../src/passwords/foreign/types.ts'
import { python } from '../support/python.ts'

type Input = string | StructuredDigest
interface Made {
  byPassword: Record<string, Record<string, Input>>
  long: Record<'django-bcrypt' | 'django-bcrypt-sha256', string>
  djangoScryptVector: string
  slowPbkdf2: StructuredDigest
}

const ASCII = 'correct horse battery staple'
// Composed é (NFC): its decomposed spelling must not verify, as the other system never saw it.
const ACCENTED = 'pässwörd café 日本語 🔑'
const PASSWORDS = [ASCII, ACCENTED]
const LONG = `${'ü'.repeat(40)}tail` // 84 UTF-8 bytes: past bcrypt's 72

// The scheme each made hash must be named, and whether it is weak.
const SCHEMES: Record<string, [scheme: string, weak: boolean]> = {
  argon2i: ['argon2i', false],
  argon2d: ['argon2d', false],
  'argon2id-python': ['argon2id', false],
  'argon2id-node': ['argon2id', false],
  'bcrypt-2b': ['bcrypt', false],
  'bcrypt-2a': ['bcrypt', false],
  'bcrypt-2y': ['bcrypt', false],
  'bcrypt-node': ['bcrypt', false],
  'passlib-pbkdf2-sha256': ['passlib-pbkdf2-sha256', false],
  'passlib-pbkdf2-sha512': ['passlib-pbkdf2-sha512', false],
  'passlib-pbkdf2-sha1': ['passlib-pbkdf2-sha1', false],
  'passlib-scrypt': ['passlib-scrypt', false],
  'werkzeug-pbkdf2-sha256': ['werkzeug-pbkdf2-sha256', false],
  'werkzeug-pbkdf2-sha512': ['werkzeug-pbkdf2-sha512', false],
  'werkzeug-pbkdf2-sha1': ['werkzeug-pbkdf2-sha1', false],
  'werkzeug-scrypt': ['werkzeug-scrypt', false],
  'django-pbkdf2-sha256': ['django-pbkdf2-sha256', false],
  'django-pbkdf2-sha1': ['django-pbkdf2-sha1', false],
  'django-argon2id': ['django-argon2id', false],
  'django-argon2i': ['django-argon2i', false],
  'django-bcrypt-sha256': ['django-bcrypt-sha256', false],
  'django-bcrypt': ['django-bcrypt', false],
  'django-scrypt': ['django-scrypt', false],
  'django-sha1': ['django-sha1', true],
  'django-md5': ['django-md5', true],
  'django-unsalted-sha1': ['django-unsalted-sha1', true],
  'django-unsalted-md5': ['django-unsalted-md5', true],
  'digest-sha256': ['digest-sha256', false],
  'digest-sha512': ['digest-sha512', false],
  'digest-sha1': ['digest-sha1', true],
  'digest-md5': ['digest-md5', true],
  'digest-sha256-unsalted': ['digest-sha256', true],
  'digest-pbkdf2-sha256': ['digest-pbkdf2-sha256', false],
  'digest-pbkdf2-sha512-dklen20': ['digest-pbkdf2-sha512', false],
}

// github.com/firebase/scrypt README: the sample project parameters and user1@test.com's row.
const FIREBASE: FirebaseParams = {
  signerKey:
    'jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==',
  saltSeparator: 'Bw==',
  rounds: 8,
  memCost: 14,
}
const FIREBASE_USER: StructuredDigest = {
  algorithm: 'firebase-scrypt',
  salt: '42xEC+ixf3L2lw==',
  hash: 'lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==',
}
const FIREBASE_PASSWORD = 'user1password'

// Django's own scrypt vector (tests/auth_tests/test_hashers.py, test_scrypt).
const DJANGO_SCRYPT_VECTOR =
  'scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw=='

let made: Made

/** The made hash `name` of `password`. */
function input(name: string, password = ASCII): Input {
  const value = made.byPassword[password]?.[name]
  assert.ok(value !== undefined, `no ${name} hash`)
  return value
}

function accepted(parsed: ParsedHash): Extract<ParsedHash, { ok: true }> {
  assert.ok(parsed.ok, `refused: ${!parsed.ok && parsed.reason} ${!parsed.ok && parsed.detail}`)
  return parsed
}

function storedOf(value: Input): string {
  return accepted(parseImportedHash(value, { allowWeak: true })).stored
}

/** A wrong password one character away from `password`. */
const near = (password: string) => `${password.slice(0, -1)}${password.endsWith('x') ? 'y' : 'x'}`

before(async () => {
  const script = readFileSync(new URL('foreign-hashes.py', import.meta.url), 'utf8')
  made = await python<Made>(script, { passwords: PASSWORDS, long: LONG })
  for (const password of PASSWORDS) {
    const own = made.byPassword[password] as Record<string, Input>
    own['argon2id-node'] = await argon2Hash(password, {
      algorithm: 2 as Algorithm, // Argon2id; a const enum that type stripping cannot inline
      memoryCost: 1024,
      timeCost: 1,
    })
    own['bcrypt-node'] = await bcryptHash(password, 4)
  }
})

describe('foreign hashes made by their own libraries', () => {
  for (const [name, [scheme, weak]] of Object.entries(SCHEMES)) {
    test(`${name}: recognised as ${scheme}${weak ? ' (weak)' : ''}`, () => {
      for (const password of PASSWORDS) {
        const value = input(name, password)
        const parsed = accepted(parseImportedHash(value, { allowWeak: true }))
        assert.equal(parsed.scheme, scheme)
        assert.equal(parsed.weak, weak)
        assert.equal(schemeOf(parsed.stored), scheme)
        if (typeof value === 'string') assert.equal(parsed.stored, value)
        else assert.match(parsed.stored, /^\$usersvc-digest\$[A-Za-z0-9_-]+$/)
        const strict = parseImportedHash(value, {})
        if (weak) assert.deepEqual(strict, { ok: false, reason: 'weak_hash', detail: scheme })
        else assert.deepEqual(strict, parsed)
      }
    })

    test(`${name}: the right password verifies, wrong ones do not`, async () => {
      for (const password of PASSWORDS) {
        const stored = storedOf(input(name, password))
        assert.equal(await verifyForeign(stored, password), true, password)
        assert.equal(await verifyForeign(stored, near(password)), false)
        assert.equal(await verifyForeign(stored, `${password} `), false)
        assert.equal(await verifyForeign(stored, password.toUpperCase()), false)
        assert.equal(await verifyForeign(stored, ''), false)
        // The other password's hash of the same scheme does not take this one.
        const other = storedOf(input(name, password === ASCII ? ACCENTED : ASCII))
        assert.equal(await verifyForeign(other, password), false)
      }
      const stored = storedOf(input(name, ACCENTED))
      assert.notEqual(ACCENTED.normalize('NFD'), ACCENTED)
      assert.equal(await verifyForeign(stored, ACCENTED.normalize('NFD')), false, 'NFD spelling')
    })

    test(`${name}: exportedHash round-trips through parseImportedHash`, async () => {
      const value = input(name, ACCENTED)
      const stored = storedOf(value)
      const exported = exportedHash(stored)
      if (typeof value === 'string') assert.equal(exported, value)
      else {
        assert.equal(typeof exported, 'object')
        assert.equal((exported as StructuredDigest).hash, value.hash)
      }
      const again = accepted(parseImportedHash(exported, { allowWeak: true }))
      assert.equal(again.stored, stored)
      assert.equal(again.scheme, scheme)
      assert.equal(await verifyForeign(again.stored, ACCENTED), true)
    })
  }

  test('isForeign: only a PHC argon2id string is ours, whatever its parameters', () => {
    assert.equal(isForeign(input('argon2id-node') as string), false)
    assert.equal(isForeign(input('argon2id-python') as string), false)
    for (const name of ['argon2i', 'argon2d', 'bcrypt-2b', 'django-argon2id', 'werkzeug-scrypt'])
      assert.equal(isForeign(input(name) as string), true, name)
    assert.equal(isForeign(storedOf(input('digest-sha256'))), true)
    assert.equal(isForeign(''), true)
  })

  test('bcrypt reads 72 bytes; Django bcrypt_sha256 pre-hashes and reads them all', async () => {
    const changedTail = `${LONG.slice(0, -4)}TAIL`
    const bcrypt = made.long['django-bcrypt']
    const sha256 = made.long['django-bcrypt-sha256']
    assert.equal(await verifyForeign(bcrypt, LONG), true)
    assert.equal(await verifyForeign(bcrypt, changedTail), true, 'the foreign system truncated too')
    assert.equal(await verifyForeign(sha256, LONG), true)
    assert.equal(await verifyForeign(sha256, changedTail), false)
  })

  test('the alias spellings unsalted_md5$$ and unsalted_sha1$$ read as Django’s unsalted forms', async () => {
    const md5 = `unsalted_md5$$${input('django-unsalted-md5')}`
    const sha1 = `unsalted_${input('django-unsalted-sha1')}`
    assert.equal(
      accepted(parseImportedHash(md5, { allowWeak: true })).scheme,
      'django-unsalted-md5',
    )
    assert.equal(
      accepted(parseImportedHash(sha1, { allowWeak: true })).scheme,
      'django-unsalted-sha1',
    )
    assert.equal(await verifyForeign(md5, ASCII), true)
    assert.equal(await verifyForeign(sha1, ASCII), true)
    assert.equal(await verifyForeign(`md5$$${input('django-unsalted-md5')}`, ASCII), true)
  })
})

describe('published test vectors', () => {
  test('Django’s scrypt vector: our builder makes it, and it verifies', async () => {
    assert.equal(made.djangoScryptVector, DJANGO_SCRYPT_VECTOR)
    assert.equal(schemeOf(DJANGO_SCRYPT_VECTOR), 'django-scrypt')
    assert.equal(await verifyForeign(DJANGO_SCRYPT_VECTOR, 'lètmein'), true)
    assert.equal(await verifyForeign(DJANGO_SCRYPT_VECTOR, 'lètmeinz'), false)
    assert.equal(await verifyForeign(DJANGO_SCRYPT_VECTOR, 'letmein'), false)
  })

  test('Firebase scrypt: the README’s user verifies with the project parameters', async () => {
    const parsed = accepted(parseImportedHash(FIREBASE_USER, { firebase: FIREBASE }))
    assert.equal(parsed.scheme, 'firebase-scrypt')
    assert.equal(parsed.weak, false)
    assert.equal(schemeOf(parsed.stored), 'firebase-scrypt')
    assert.equal(await verifyForeign(parsed.stored, FIREBASE_PASSWORD), true)
    assert.equal(await verifyForeign(parsed.stored, near(FIREBASE_PASSWORD)), false)
    const otherSeparator = parseImportedHash(FIREBASE_USER, {
      firebase: { ...FIREBASE, saltSeparator: 'CA==' },
    })
    assert.equal(await verifyForeign(accepted(otherSeparator).stored, FIREBASE_PASSWORD), false)
  })

  test('Firebase scrypt: without the project parameters it is refused', () => {
    assert.deepEqual(parseImportedHash(FIREBASE_USER, {}), {
      ok: false,
      reason: 'firebase_params_missing',
    })
  })

  test('Firebase scrypt: exported as its stored string, which re-imports without options', async () => {
    const stored = accepted(parseImportedHash(FIREBASE_USER, { firebase: FIREBASE })).stored
    assert.equal(exportedHash(stored), stored)
    const again = accepted(parseImportedHash(stored, {}))
    assert.equal(again.stored, stored)
    assert.equal(await verifyForeign(again.stored, FIREBASE_PASSWORD), true)
  })
})

/** `text` with the `index`th `$`-separated part replaced by `part`. */
function withPart(text: string, index: number, part: string): string {
  const parts = text.split('$')
  parts[index] = part
  return parts.join('$')
}

/** The refusal of `value`, with a check that its detail does not repeat a hash or salt part. */
function refusal(value: unknown, options = {}): { reason: string; detail?: string } {
  const parsed = parseImportedHash(value, options)
  assert.ok(!parsed.ok, `accepted: ${JSON.stringify(value)}`)
  const digest =
    typeof value === 'object' && value !== null ? (value as StructuredDigest) : undefined
  const parts = typeof value === 'string' ? value.split(/[$:]/) : [digest?.hash, digest?.salt]
  for (const part of parts)
    if (typeof part === 'string' && part.length >= 8)
      assert.ok(!parsed.detail?.includes(part), 'detail holds a part of the hash')
  return parsed
}

describe('refusals', () => {
  test('unknown: no scheme recognises it', () => {
    const unknown: unknown[] = [
      '',
      'hunter2',
      '$5$rounds=5000$saltsalt$Gbr2mW7L5yrUYk6tMY0o8XmvG1CyA6Nx7a9l9xqF3x.', // sha256-crypt
      '$1$saltsalt$qjXMvbEw8oaL.CzflDugX/', // md5-crypt
      '{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
      '$2x$04$Uv8U3qiYql5NXQVJz242DeMSDMLZtoo3IhC8ZmiUVGfGZ0CxkEp0i',
      'crypt$$ab1234567890',
      'pbkdf2:sha256:1000', // a Werkzeug method without its salt and hash
      'md5',
      42,
      null,
      ['$2b$04$'],
      { algorithm: 'sha3-256', hash: 'ab' },
    ]
    for (const value of unknown) {
      assert.equal(refusal(value).reason, 'unknown_hash', JSON.stringify(value))
      if (typeof value === 'string') assert.equal(schemeOf(value), 'unknown', value)
    }
  })

  test('unusable: Django’s "!…" marks an account without a password', async () => {
    for (const value of ['!', '!Tc0p4J1mCIMKO0eBlJ4pPYJOzKvTDfXzfhgJxsKQ']) {
      assert.equal(refusal(value).reason, 'unusable_password', value)
      assert.equal(await verifyForeign(value, ''), false)
    }
  })

  test('malformed: recognised, but a part is missing, badly encoded or the wrong length', () => {
    const passlib = input('passlib-pbkdf2-sha256') as string
    const werkzeug = input('werkzeug-pbkdf2-sha256') as string
    const django = input('django-pbkdf2-sha256') as string
    const argon2 = input('argon2id-python') as string
    const bcrypt = input('bcrypt-2b') as string
    const scrypt = input('django-scrypt') as string
    const malformed: [string, string][] = [
      [passlib.slice(0, passlib.lastIndexOf('$')), 'passlib: hash part missing'],
      [withPart(passlib, 4, `${passlib.split('$')[4]?.slice(0, -4)}`), 'passlib: hash too short'],
      [withPart(passlib, 4, `!${passlib.split('$')[4]?.slice(1)}`), 'passlib: not ab64'],
      [withPart(passlib, 2, '0'), 'passlib: 0 rounds'],
      [withPart(passlib, 2, 'many'), 'passlib: rounds not a number'],
      [werkzeug.replace('pbkdf2:sha256:1000$', 'pbkdf2:sha256$'), 'werkzeug: no iteration count'],
      [werkzeug.replace('pbkdf2:sha256:1000$', 'pbkdf2$'), 'werkzeug: bare pbkdf2'],
      [werkzeug.replace('pbkdf2:sha256:1000$', 'pbkdf2:md5:1000$'), 'werkzeug: md5 pbkdf2'],
      [`${werkzeug.slice(0, -2)}zz`, 'werkzeug: not hex'],
      [werkzeug.slice(0, -2), 'werkzeug: short hash'],
      [
        (input('werkzeug-scrypt') as string).replace('scrypt:1024:8:1', 'scrypt:1024:8'),
        'werkzeug: 2 scrypt args',
      ],
      [withPart(django, 3, '%%%%'), 'django: hash not base64'],
      [withPart(django, 1, '1e3'), 'django: iterations not digits'],
      [withPart(django, 1, '-1'), 'django: negative iterations'],
      [`${django}$extra`, 'django: extra part'],
      [withPart(argon2, 4, ''), 'argon2: no salt'],
      [argon2.replace('m=1024', 'm=1024,x=1'), 'argon2: unknown parameter'],
      [argon2.replace('v=19', 'v=20'), 'argon2: unknown version'],
      [bcrypt.slice(0, -1), 'bcrypt: short'],
      [bcrypt.replace('$04$', '$03$'), 'bcrypt: cost 3'],
      [withPart(scrypt, 1, '1000'), 'django scrypt: N not a power of two'],
      [withPart(scrypt, 4, '0'), 'django scrypt: p 0'],
      [
        'argon2$argon2x$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g',
        'django argon2: unknown variant',
      ],
      ['sha1$salt$abc', 'django sha1: hash too short'],
      ['unsalted_sha1$salt$a9993e364706816aba3e25717850c26c9cd0d89d', 'unsalted with a salt'],
      [
        `$usersvc-digest$${Buffer.from('{"algorithm":').toString('base64url')}`,
        'stored digest: bad JSON',
      ],
      ['$usersvc-digest$!!', 'stored digest: not base64url'],
    ]
    for (const [value, why] of malformed) {
      const refused = refusal(value, { allowWeak: true })
      assert.equal(refused.reason, 'malformed_hash', why)
      assert.ok(refused.detail && refused.detail.length < 80, why)
      assert.equal(schemeOf(value) === 'unknown', false, `${why}: still named by its prefix`)
    }
  })

  test('malformed structured digests', () => {
    const good = input('digest-sha256') as StructuredDigest
    const pbkdf2 = input('digest-pbkdf2-sha256') as StructuredDigest
    const malformed: [unknown, string][] = [
      [{ ...good, hash: good.hash.slice(2) }, 'hash one byte short'],
      [{ ...good, hash: `zz${good.hash.slice(2)}` }, 'hash not hex'],
      [{ ...good, encoding: 'base64' }, 'hex hash said to be base64'],
      [{ ...good, encoding: 'base32' }, 'unknown encoding'],
      [{ ...good, salt_encoding: 'hex' }, 'salt not hex'],
      [{ ...good, template: '{salt}{user}{password}' }, 'unknown placeholder'],
      [{ ...good, template: '{salt}' }, 'no password in the template'],
      [{ ...good, iterations: 2 }, 'iterations on a plain digest'],
      [{ ...good, pepper: 'x' }, 'unknown field'],
      [{ ...good, firebase: FIREBASE }, 'firebase parameters on a plain digest'],
      [{ ...good, hash: 7 }, 'hash not text'],
      [{ algorithm: 'sha256', salt: 'x' }, 'no hash'],
      [{ ...pbkdf2, iterations: undefined }, 'pbkdf2 without iterations'],
      [{ ...pbkdf2, iterations: 0 }, 'pbkdf2 with 0 iterations'],
      [{ ...pbkdf2, iterations: 1000.5 }, 'pbkdf2 with a fraction'],
      [{ ...pbkdf2, iterations: '1000' }, 'pbkdf2 iterations as text'],
      [{ ...pbkdf2, template: '{salt}{password}' }, 'template on pbkdf2'],
      [
        { ...FIREBASE_USER, hash: FIREBASE_USER.hash.slice(4) },
        'firebase hash shorter than the key',
      ],
    ]
    for (const [value, why] of malformed) {
      const refused = refusal(value, { allowWeak: true, firebase: FIREBASE })
      assert.equal(refused.reason, 'malformed_hash', why)
    }
    const badParams = { ...FIREBASE, signerKey: 'not base64!' }
    assert.equal(refusal(FIREBASE_USER, { firebase: badParams }).reason, 'malformed_hash')
  })

  test('unsafe costs: a row that would tie up a hash thread or its memory', () => {
    const passlib = input('passlib-pbkdf2-sha256') as string
    const werkzeug = input('werkzeug-pbkdf2-sha256') as string
    const django = input('django-pbkdf2-sha256') as string
    const argon2 = input('argon2i') as string
    const wz = input('werkzeug-scrypt') as string
    const pbkdf2 = input('digest-pbkdf2-sha256') as StructuredDigest
    const unsafe: [unknown, string][] = [
      [withPart(passlib, 2, '5000001'), 'passlib rounds'],
      [werkzeug.replace(':1000$', ':10000000$'), 'werkzeug iterations'],
      [withPart(django, 1, '99999999999999999999'), 'django iterations, 20 digits'],
      [{ ...pbkdf2, iterations: 6_000_000 }, 'digest iterations'],
      // 64 bytes of pbkdf2-sha256 are two blocks: 2 × 3,000,000 iterations.
      [
        { ...pbkdf2, iterations: 3_000_000, hash: Buffer.alloc(64).toString('base64') },
        'two blocks',
      ],
      [wz.replace('scrypt:1024:8:1', 'scrypt:1048576:8:1'), 'werkzeug scrypt 1 GiB'],
      [wz.replace('scrypt:1024:8:1', 'scrypt:1024:8:17'), 'werkzeug scrypt p 17'],
      [(input('passlib-scrypt') as string).replace('ln=8', 'ln=22'), 'passlib scrypt ln 22'],
      [withPart(input('django-scrypt') as string, 1, String(2 ** 20)), 'django scrypt 1 GiB'],
      [(input('bcrypt-2b') as string).replace('$04$', '$17$'), 'bcrypt cost 17'],
      [(input('django-bcrypt') as string).replace('$04$', '$31$'), 'django bcrypt cost 31'],
      [argon2.replace('m=1024', 'm=262145'), 'argon2 memory'],
      [argon2.replace('t=1', 't=21'), 'argon2 time'],
      [argon2.replace('m=1024,t=1,p=1', 'm=1024,t=1,p=17'), 'argon2 lanes'],
      [`argon2${argon2.replace('m=1024', 'm=1048576')}`, 'django argon2 memory'],
    ]
    for (const [value, why] of unsafe)
      assert.equal(refusal(value, { allowWeak: true }).reason, 'unsafe_cost', why)
    assert.equal(
      refusal(FIREBASE_USER, { firebase: { ...FIREBASE, memCost: 20 } }).reason,
      'unsafe_cost',
      'firebase 2^20 × 8 × 128 bytes',
    )
  })

  test('the limits themselves are allowed', () => {
    const passlib = input('passlib-pbkdf2-sha256') as string
    const argon2 = input('argon2i') as string
    const allowed = [
      withPart(passlib, 2, '5000000'),
      (input('bcrypt-2b') as string).replace('$04$', '$16$'),
      argon2.replace('m=1024,t=1,p=1', 'm=262144,t=20,p=16'),
      (input('werkzeug-scrypt') as string).replace('scrypt:1024:8:1', 'scrypt:262144:8:1'), // 256 MiB
    ]
    for (const value of allowed) accepted(parseImportedHash(value, {}))
  })

  test('weak: refused without allowWeak, whatever else is right', () => {
    const unsaltedPbkdf2 = { ...(input('digest-pbkdf2-sha256') as StructuredDigest), salt: '' }
    const noSaltInTemplate = {
      ...(input('digest-sha256') as StructuredDigest),
      template: '{password}',
    }
    for (const value of [unsaltedPbkdf2, noSaltInTemplate]) {
      assert.equal(refusal(value).reason, 'weak_hash')
      assert.equal(accepted(parseImportedHash(value, { allowWeak: true })).weak, true)
    }
    const passlibNoSalt = withPart(input('passlib-pbkdf2-sha1') as string, 3, '')
    assert.equal(refusal(passlibNoSalt).reason, 'weak_hash', 'passlib with an empty salt')
  })
})

describe('verifyForeign', () => {
  test('never throws: anything it cannot read is false', async () => {
    const argon2 = input('argon2id-python') as string
    const odd: unknown[] = [
      '',
      'hunter2',
      '$argon2id$garbage',
      argon2.slice(0, -3),
      withPart(argon2, 3, 'm=99999999,t=1,p=1'),
      '$2b$04$',
      'pbkdf2:sha256$salt$00',
      '$usersvc-digest$e30',
      '$usersvc-digest$!!',
      undefined,
      null,
      12,
    ]
    for (const stored of odd)
      assert.equal(await verifyForeign(stored as string, ASCII), false, String(stored))
    assert.equal(await verifyForeign(argon2, undefined as unknown as string), false)
  })

  test('runs on the thread pool: the event loop keeps turning during a long pbkdf2', async () => {
    const stored = storedOf(made.slowPbkdf2)
    // Counted, not timed: a KDF run on the event loop lets no timer fire before it resolves
    // (its promise settles in a microtask), one on the pool lets them fire all along.
    let ticks = 0
    const tick = setInterval(() => ticks++, 1)
    const ok = await verifyForeign(stored, 'slow')
    clearInterval(tick)
    assert.equal(ok, true)
    assert.ok(ticks >= 3, `the loop turned ${ticks} times during the verify`)
  })
})
