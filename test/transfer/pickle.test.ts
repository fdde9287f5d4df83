// readPickle and pickleRecords on pickles written by the real CPython (Debian's /usr/bin/python3),
// at protocols 0, 2, 4 and 5, and on hostile or broken ones.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash, pbkdf2Sync } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import type { StructuredDigest } from '../../src/passwords/foreign/types.ts'
import { PickleRefused, readPickle } from '../../src/transfer/pickle/index.ts'
import {
  type PickleMapping,
  type PickleRecord,
  parseHashSpec,
  pickleRecords,
} from '../../src/transfer/pickle-records.ts'

const PYTHON = '/usr/bin/python3'
const PROTOCOLS = [0, 2, 4, 5] as const
const run = promisify(execFile)

let dir: string
let count = 0

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'usersvc-pickle-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function python(script: string): Promise<string> {
  const { stdout } = await run(PYTHON, ['-c', script], {
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' },
  })
  return stdout
}

/**
 * Runs `setup` (Python that defines `data`), pickles `data` at each protocol into the temp dir
 * and reads the files back, as the CLI would.
 */
async function pickles(
  setup: string,
  protocols: readonly number[] = PROTOCOLS,
): Promise<Map<number, Buffer>> {
  const base = join(dir, `case-${++count}`)
  await python(
    `import pickle, datetime, hashlib, os, sys\n${setup}\nfor p in ${JSON.stringify(protocols)}:\n    with open(${JSON.stringify(base)} + f"-{p}.pkl", "wb") as f:\n        pickle.dump(data, f, protocol=p)\n`,
  )
  const out = new Map<number, Buffer>()
  for (const p of protocols) out.set(p, await readFile(`${base}-${p}.pkl`))
  return out
}

/** The PickleRefused `fn` threw, or a failed test. */
function refusal(fn: () => unknown): PickleRefused {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof PickleRefused, `not a PickleRefused: ${String(e)}`)
    return e
  }
  assert.fail('was not refused')
}

const records = (data: unknown, mapping: PickleMapping = {}): PickleRecord[] => [
  ...pickleRecords(data, mapping),
]

/** What the verifier will do with a pbkdf2 StructuredDigest, done here with node:crypto. */
function pbkdf2Matches(d: StructuredDigest, password: string): boolean {
  assert.ok(d.salt !== undefined && d.iterations !== undefined)
  const salt = Buffer.from(d.salt, d.salt_encoding ?? 'utf8')
  const digest = d.algorithm === 'pbkdf2-sha512' ? 'sha512' : 'sha256'
  const expected = Buffer.from(d.hash, d.encoding ?? 'hex')
  return pbkdf2Sync(password, salt, d.iterations, expected.length, digest).equals(expected)
}

const SEED_USERS = [
  [
    'alice',
    'correct horse battery staple',
    'a3f1c2d4e5b60718293a4b5c6d7e8f90',
    '2021-03-04T05:06:07.123Z',
  ],
  ['bob', 'hunter2 but longer', '00ff10ee20dd30cc40bb50aa60997088', '2019-12-31T23:59:59.999Z'],
  ['zoë', 'pässwörd ünïcode', 'deadbeefcafebabe0011223344556677', '2000-01-01T00:00:00.000Z'],
] as const

/** The seeds' store: login → {hash, salt (hex str), date (naive datetime)}. */
function seedScript(saltAsText: boolean): string {
  const users = SEED_USERS.map(
    ([login, pw, salt, iso]) =>
      `(${JSON.stringify(login)}, ${JSON.stringify(pw)}, ${JSON.stringify(salt)}, ${JSON.stringify(iso.slice(0, -1))})`,
  ).join(', ')
  const saltBytes = saltAsText ? 'salt.encode()' : 'bytes.fromhex(salt)'
  return `
data = {}
for login, pw, salt, iso in [${users}]:
    data[login] = {"hash": hashlib.pbkdf2_hmac("sha256", pw.encode(), ${saltBytes}, 100000).hex(),
                   "salt": salt, "date": datetime.datetime.fromisoformat(iso)}`
}

describe('readPickle + pickleRecords on the Flask seeds’ store', () => {
  for (const saltAsText of [false, true]) {
    const variant = saltAsText ? 'the salt used as text' : 'a hex salt used as bytes'
    test(`pbkdf2-sha256 with ${variant}: StructuredDigests that verify (protocols 0, 2, 4, 5)`, async () => {
      const files = await pickles(seedScript(saltAsText))
      const mapping: PickleMapping = {
        hash: 'pbkdf2-sha256:100000',
        saltEncoding: saltAsText ? 'utf8' : 'hex',
      }
      for (const [protocol, bytes] of files) {
        const got = records(readPickle(bytes), mapping)
        assert.equal(got.length, SEED_USERS.length, `protocol ${protocol}`)
        SEED_USERS.forEach(([login, password, salt, iso], i) => {
          const r = got[i]
          assert.ok(r?.record, `protocol ${protocol} record ${i}: ${r?.error}`)
          assert.equal(r.index, i)
          const digest = r.record.password_hash as StructuredDigest
          assert.deepEqual(r.record, {
            login,
            registered_at: iso,
            password_hash: {
              algorithm: 'pbkdf2-sha256',
              iterations: 100000,
              salt,
              salt_encoding: saltAsText ? 'utf8' : 'hex',
              hash: digest.hash,
              encoding: 'hex',
            },
          })
          assert.match(digest.hash, /^[0-9a-f]{64}$/)
          assert.ok(pbkdf2Matches(digest, password), `protocol ${protocol} ${login} verifies`)
          assert.ok(!pbkdf2Matches(digest, `${password}!`), 'a wrong password does not')
          // the other salt reading gives another digest: salt_encoding is what makes it verify
          const flipped = { ...digest, salt_encoding: saltAsText ? 'hex' : 'utf8' } as const
          assert.ok(!pbkdf2Matches(flipped, password))
        })
      }
    })
  }

  test('without --hash, a salt beside the hash is an error for each record, not a throw', async () => {
    const files = await pickles(seedScript(false), [4])
    const got = records(readPickle(files.get(4) as Buffer))
    assert.equal(got.length, 3)
    for (const r of got) {
      assert.equal(r.record, undefined)
      assert.match(r.error ?? '', /salt \(salt\).*--hash/)
    }
  })

  test('--field overrides the defaults, and only the mapped key is read', async () => {
    const files = await pickles(
      `data = {"u1": {"pw": "ab" * 32, "hash": "ignored", "s": "0011", "when": "2020-01-01", "name": "carol"}}`,
    )
    for (const bytes of files.values()) {
      const data = readPickle(bytes)
      const [r] = records(data, {
        hash: 'sha256:{password}{salt}',
        saltEncoding: 'hex',
        fields: { password_hash: 'pw', salt: 's', registered_at: 'when', login: 'name' },
      })
      assert.deepEqual(r, {
        index: 0,
        record: {
          login: 'carol',
          registered_at: '2020-01-01',
          password_hash: {
            algorithm: 'sha256',
            template: '{password}{salt}',
            hash: 'ab'.repeat(32),
            encoding: 'hex',
            salt: '0011',
            salt_encoding: 'hex',
          },
        },
      })
    }
  })
})

describe('other store shapes', () => {
  test('a list of dicts: login from login/username/user, Werkzeug strings pass through', async () => {
    const files = await pickles(`
data = [
    {"username": "dave", "password": "pbkdf2:sha256:260000$abc$def", "email": "d@example.com",
     "created_at": datetime.datetime(2022, 2, 2, 2, 2, 2), "role": "admin", "email_verified": True},
    {"login": "erin", "password_hash": "$2b$12$abcdefghijklmnopqrstuu", "id": 7},
    {"user": "frank", "hash": b"\\x00\\x01"},
    "not a dict",
    {"email": "nologin@example.com", "hash": "x"},
    {"login": "gina"},
    {"login": "hal", "hash": "scrypt:32768:8:1$s$h", "salt": "x"},
]`)
    for (const [protocol, bytes] of files) {
      const got = records(readPickle(bytes))
      assert.deepEqual(
        got,
        [
          {
            index: 0,
            record: {
              login: 'dave',
              password_hash: 'pbkdf2:sha256:260000$abc$def',
              email: 'd@example.com',
              registered_at: '2022-02-02T02:02:02.000Z',
              role: 'admin',
              email_verified: true,
            },
          },
          // their `id` is not ours unless mapped
          { index: 1, record: { login: 'erin', password_hash: '$2b$12$abcdefghijklmnopqrstuu' } },
          { index: 2, error: 'the hash (hash) is bytes: give its scheme with --hash' },
          { index: 3, error: 'the entry is a str, not a dict' },
          { index: 4, error: 'no login (looked for login, username, user)' },
          { index: 5, error: 'no password hash (looked for hash, password_hash, password)' },
          {
            index: 6,
            error: 'a salt (salt) beside the hash needs --hash SCHEME, or the salt would be lost',
          },
        ],
        `protocol ${protocol}`,
      )
    }
  })

  test('bytes hash and salt become hex with matching encodings, and verify', async () => {
    const files = await pickles(`
salt = bytes(range(250, 256)) + b"\\x00\\n\\\\'"
data = {"ivan": {"hash": hashlib.sha256(salt + "s3cret".encode()).digest(), "salt": salt}}`)
    for (const [protocol, bytes] of files) {
      const [r] = records(readPickle(bytes), {
        hash: 'sha256:{salt}{password}',
        saltEncoding: 'utf8', // applies to text salts only; a bytes salt is hex
        hashEncoding: 'base64',
      })
      const d = r?.record?.password_hash as StructuredDigest
      assert.equal(d.salt, 'fafbfcfdfeff000a5c27', `protocol ${protocol}`)
      assert.equal(d.salt_encoding, 'hex')
      assert.equal(d.encoding, 'hex')
      const salt = Buffer.from(d.salt, 'hex')
      const mine = createHash('sha256').update(salt).update('s3cret').digest('hex')
      assert.equal(d.hash, mine)
    }
  })

  test('a dict keyed by ints is a Map; without a login mapping each record is an error', async () => {
    const files = await pickles(
      `data = {1: {"name": "jo", "hash": "pbkdf2:sha256:1$a$b"}, "2": {"hash": "x"}}`,
    )
    for (const bytes of files.values()) {
      const data = readPickle(bytes)
      assert.ok(data instanceof Map)
      assert.deepEqual([...data.keys()], [1, '2'])
      assert.deepEqual(records(data), [
        { index: 0, error: 'the key is an int, not a str login (map one with --field login=KEY)' },
        { index: 1, record: { login: '2', password_hash: 'x' } },
      ])
      const [first] = records(data, { fields: { login: 'name' } })
      assert.deepEqual(first, {
        index: 0,
        record: { login: 'jo', password_hash: 'pbkdf2:sha256:1$a$b' },
      })
    }
  })

  test('anything but a dict or list throws a clear error', () => {
    for (const data of ['text', 42, null, new Uint8Array(1), new Date(0)]) {
      assert.throws(() => records(data), /expected a dict of login → user dict, or a list/)
    }
    assert.throws(
      () => records({}, { fields: { pasword_hash: 'x' } }),
      /unknown field "pasword_hash"/,
    )
    assert.throws(() => records({}, { hash: 'pbkdf2-sha256' }), /needs its iterations/)
  })
})

describe('values', () => {
  test('ints (big and negative), floats, None, bools, nested lists, tuples, unicode', async () => {
    const files = await pickles(`
data = {"big": 2**70, "negbig": -2**70, "safe": 2**53 - 1, "unsafe": 2**53, "neg": -2**40,
        "m1": -1, "m129": -129, "i32": 2**31, "zero": 0, "f": 1.5, "negf": -0.25, "inf": float("inf"),
        "none": None, "t": True, "false": False, "nested": [1, [2, [3, [None, []]]]],
        "tuple": (1, "a", (2.5,)), "ü登录😀": "zoë\\n\\\\ \\u2028 😀", "empty": "", "e": {}}`)
    for (const [protocol, bytes] of files) {
      assert.deepEqual(
        readPickle(bytes),
        {
          big: 2n ** 70n,
          negbig: -(2n ** 70n),
          safe: 2 ** 53 - 1,
          unsafe: 2n ** 53n,
          neg: -(2 ** 40),
          m1: -1,
          m129: -129,
          i32: 2 ** 31,
          zero: 0,
          f: 1.5,
          negf: -0.25,
          inf: Number.POSITIVE_INFINITY,
          none: null,
          t: true,
          false: false,
          nested: [1, [2, [3, [null, []]]]],
          tuple: [1, 'a', [2.5]],
          'ü登录😀': 'zoë\n\\ \u2028 😀',
          empty: '',
          e: {},
        },
        `protocol ${protocol}`,
      )
    }
  })

  test('bytes and bytearray are Uint8Array copies (not views of the input)', async () => {
    const files = await pickles(`data = [b"", b"\\x00\\xff" * 3, bytearray(b"xy"), bytes(300)]`)
    for (const [protocol, bytes] of files) {
      const got = readPickle(bytes) as Uint8Array[]
      assert.deepEqual(
        got.map((b) => [b.constructor.name, [...b]]),
        [
          ['Uint8Array', []],
          ['Uint8Array', [0, 255, 0, 255, 0, 255]],
          ['Uint8Array', [120, 121]],
          ['Uint8Array', new Array(300).fill(0)],
        ],
        `protocol ${protocol}`,
      )
      assert.notEqual(got[1]?.buffer, bytes.buffer)
    }
  })

  test('shared and recursive references stay shared', async () => {
    const files = await pickles(`
inner = {"a": 1}
loop = []
loop.append(loop)
data = [inner, inner, loop]`)
    for (const bytes of files.values()) {
      const [a, b, loop] = readPickle(bytes) as [object, object, unknown[]]
      assert.equal(a, b)
      assert.equal(loop[0], loop)
    }
  })

  test('a "__proto__" key is an own property, not the prototype', async () => {
    const files = await pickles(`data = {"eve": {"__proto__": {"hash": "x"}, "login": "eve"}}`)
    for (const bytes of files.values()) {
      const data = readPickle(bytes) as Record<string, Record<string, unknown>>
      const eve = data.eve as Record<string, unknown>
      assert.equal(Object.getPrototypeOf(eve), Object.prototype)
      assert.ok(Object.hasOwn(eve, '__proto__'))
      assert.equal((eve as { hash?: unknown }).hash, undefined)
      assert.deepEqual(records(data), [
        { index: 0, error: 'no password hash (looked for hash, password_hash, password)' },
      ])
    }
  })
})

describe('datetimes', () => {
  test('naive as UTC; timezone.utc and fixed offsets applied; date at midnight UTC', async () => {
    const files = await pickles(`
tz = datetime.timezone
data = [datetime.datetime(2020, 1, 2, 3, 4, 5, 678999),
        datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=tz.utc),
        datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=tz(datetime.timedelta(hours=2), "CEST")),
        datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=tz(-datetime.timedelta(hours=5, minutes=30))),
        datetime.date(2021, 2, 28), datetime.datetime(1, 1, 1), datetime.datetime(9999, 12, 31, 23, 59, 59),
        datetime.datetime(2021, 11, 7, 1, 30, fold=1)]`)
    for (const [protocol, bytes] of files) {
      const got = (readPickle(bytes) as Date[]).map((d) => d.toISOString())
      assert.deepEqual(
        got,
        [
          '2020-01-02T03:04:05.678Z',
          '2020-01-02T03:04:05.000Z',
          '2020-01-02T01:04:05.000Z',
          '2020-01-02T08:34:05.000Z',
          '2021-02-28T00:00:00.000Z',
          '0001-01-01T00:00:00.000Z',
          '9999-12-31T23:59:59.000Z',
          '2021-11-07T01:30:00.000Z',
        ],
        `protocol ${protocol}`,
      )
    }
  })

  test('a zoneinfo or timedelta value is refused', async () => {
    const zone = await pickles(
      `import zoneinfo\ndata = datetime.datetime(2020, 1, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))`,
    )
    for (const bytes of zone.values()) {
      const e = refusal(() => readPickle(bytes))
      assert.equal(e.reason, 'forbidden')
      // CPython writes getattr(ZoneInfo, '_unpickle'): getattr is the first global refused
      assert.match(e.message, /global "(builtins|__builtin__)\.getattr"/)
    }
    const delta = await pickles(`data = {"d": datetime.timedelta(days=1)}`)
    for (const bytes of delta.values()) {
      assert.match(refusal(() => readPickle(bytes)).message, /timedelta outside a timezone/)
    }
  })

  test('a Python 2 protocol 0 pickle (STRING opcodes, str datetime state) reads like Python 3 does', async () => {
    const py2 = Buffer.from(
      "(dp0\nS'alice'\np1\n(dp2\nS'hash'\np3\nS'ab\\x00\\'c'\np4\nsS'date'\np5\n" +
        "cdatetime\ndatetime\np6\n(S'\\x07\\xe4\\x01\\x02\\x03\\x04\\x05\\x0a\\xc3\\xa9'\ntRp7\nssS'bin'\np8\nS'\\xff\\xfe'\np9\ns.",
      'latin1',
    )
    const file = join(dir, 'py2.pkl')
    await writeFile(file, py2)
    const expected = await python(
      `import pickle\nd = pickle.load(open(${JSON.stringify(file)}, "rb"), encoding="bytes")\n` +
        `print(d[b"alice"][b"hash"].hex(), d[b"alice"][b"date"].isoformat(), d[b"bin"].hex())`,
    )
    const [hashHex, iso, binHex] = expected.trim().split(' ')
    const got = readPickle(py2) as { alice: { hash: string; date: Date }; bin: Uint8Array }
    assert.equal(Buffer.from(got.alice.hash).toString('hex'), hashHex)
    assert.equal(got.alice.date.toISOString(), `${iso?.slice(0, 23)}Z`)
    assert.equal(Buffer.from(got.bin).toString('hex'), binHex) // not UTF-8: stays bytes
  })
})

describe('hostile pickles are refused and run nothing', () => {
  test('os.system via __reduce__: refused, no marker (while Python itself would run it)', async () => {
    for (const protocol of PROTOCOLS) {
      const marker = join(dir, `pwned-${protocol}.marker`)
      const files = await pickles(
        `class Evil:\n    def __reduce__(self):\n        return (os.system, (${JSON.stringify(`touch ${marker}`)},))\ndata = {"alice": {"hash": Evil()}}`,
        [protocol],
      )
      const bytes = files.get(protocol) as Buffer
      const e = refusal(() => readPickle(bytes))
      assert.equal(e.reason, 'forbidden')
      assert.match(e.message, /global "posix\.system" is not allowed/)
      assert.ok(!e.message.includes('touch'), 'no data values in the message')
      assert.ok(!existsSync(marker))
      // the pickle is live: CPython's own loader runs the command
      await python(
        `import pickle\npickle.loads(bytes.fromhex(${JSON.stringify(bytes.toString('hex'))}))`,
      )
      assert.ok(existsSync(marker), 'the payload was real')
    }
  })

  const refusedGlobals: [string, string, RegExp][] = [
    [
      'subprocess.Popen',
      `import subprocess\nclass E:\n    def __reduce__(self):\n        return (subprocess.Popen, (["true"],))\ndata = [E()]`,
      /global "(subprocess|commands)\.Popen"/, // protocol < 3 maps the module to Python 2's name
    ],
    [
      'builtins.eval',
      `import builtins\nclass E:\n    def __reduce__(self):\n        return (builtins.eval, ("1+1",))\ndata = [E()]`,
      /global "(builtins|__builtin__)\.eval"/,
    ],
    [
      'a custom class instance',
      `class User:\n    def __init__(self):\n        self.login = "x"\ndata = [User()]`,
      /global "(__main__\.User|copy_reg\._reconstructor)"/,
    ],
    [
      'collections.OrderedDict',
      `import collections\ndata = collections.OrderedDict([("a", {"hash": "x"})])`,
      /global "collections\.OrderedDict"/,
    ],
    ['a set', `data = {"s": {1, 2}}`, /opcode EMPTY_SET|global "(builtins|__builtin__)\.set"/],
  ]
  for (const [label, setup, message] of refusedGlobals) {
    test(`${label} is refused at every protocol`, async () => {
      const files = await pickles(setup)
      for (const [protocol, bytes] of files) {
        const e = refusal(() => readPickle(bytes))
        assert.equal(e.reason, 'forbidden', `protocol ${protocol}`)
        assert.match(e.message, message, `protocol ${protocol}`)
      }
    })
  }

  test('object-building opcodes are refused even on allowed names or plain data', () => {
    const cases: [string, number[], RegExp][] = [
      ['BUILD on a dict', [0x80, 2, 0x7d, 0x7d, 0x62, 0x2e], /opcode BUILD/],
      [
        'NEWOBJ on datetime.datetime',
        [...Buffer.from('\x80\x02cdatetime\ndatetime\n)', 'latin1'), 0x81, 0x2e],
        /opcode NEWOBJ/,
      ],
      ['INST', [...Buffer.from('(idatetime\ndate\n.', 'latin1')], /opcode INST/],
      ['PERSID', [...Buffer.from('P1\n.', 'latin1')], /opcode PERSID/],
      ['EXT1', [0x80, 2, 0x82, 1, 0x2e], /opcode EXT1/],
      ['REDUCE on a str', [...Buffer.from("S'x'\n)R.", 'latin1')], /REDUCE on something/],
      [
        'REDUCE of _codecs.encode with another codec',
        [...Buffer.from('c_codecs\nencode\n(Vx\nVrot13\ntR.', 'latin1')],
        /REDUCE of encode/,
      ],
      [
        'a bare allowed global',
        [...Buffer.from('cdatetime\ndatetime\n.', 'latin1')],
        /bare global/,
      ],
      [
        'STACK_GLOBAL on non-strings',
        [0x80, 4, 0x4b, 1, 0x4b, 2, 0x93, 0x2e],
        /STACK_GLOBAL whose module and name are not strings/,
      ],
    ]
    for (const [label, bytes, message] of cases) {
      const e = refusal(() => readPickle(Uint8Array.from(bytes)))
      assert.equal(e.reason, 'forbidden', label)
      assert.match(e.message, message, label)
    }
  })
})

describe('broken input', () => {
  test('every truncation of a real pickle is refused as malformed', async () => {
    const files = await pickles(seedScript(false))
    for (const [protocol, bytes] of files) {
      for (let n = 0; n < bytes.length; n++) {
        const e = refusal(() => readPickle(bytes.subarray(0, n)))
        assert.equal(e.reason, 'malformed', `protocol ${protocol} cut at ${n}`)
      }
      assert.ok(readPickle(bytes))
    }
  })

  test('garbage and mutated pickles: a result or PickleRefused, never another error', async () => {
    const files = await pickles(seedScript(false))
    let seed = 0x2545f491
    const rand = (n: number): number => {
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return (seed >>> 0) % n
    }
    let refused = 0
    const attempt = (bytes: Uint8Array): void => {
      try {
        readPickle(bytes)
      } catch (e) {
        assert.ok(
          e instanceof PickleRefused,
          `${String(e)} for ${Buffer.from(bytes).toString('hex')}`,
        )
        refused++
      }
    }
    for (let i = 0; i < 3000; i++) {
      attempt(Uint8Array.from({ length: rand(64) }, () => rand(256)))
    }
    const originals = [...files.values()]
    for (let i = 0; i < 3000; i++) {
      const copy = Uint8Array.from(originals[i % originals.length] as Buffer)
      for (let k = 0; k <= rand(3); k++) copy[rand(copy.length)] = rand(256)
      attempt(copy)
    }
    assert.ok(refused > 3000, `${refused} refused`)
    assert.equal(refusal(() => readPickle(Buffer.from('not a pickle at all'))).reason, 'malformed')
  })

  test('two pickles in one file: data after STOP is refused', async () => {
    const files = await pickles(`data = {"a": {"hash": "x"}}`, [4])
    const one = files.get(4) as Buffer
    assert.deepEqual(readPickle(one), { a: { hash: 'x' } })
    assert.match(refusal(() => readPickle(Buffer.concat([one, one]))).message, /data after STOP/)
  })
})

describe('limits', () => {
  test('input over maxBytes is refused before it is read', async () => {
    const files = await pickles(seedScript(false), [4])
    const bytes = files.get(4) as Buffer
    const e = refusal(() => readPickle(bytes, { maxBytes: bytes.length - 1 }))
    assert.equal(e.reason, 'limit')
    assert.match(e.message, /over the limit/)
    assert.ok(readPickle(bytes, { maxBytes: bytes.length }))
  })

  test('memo, stack and nesting caps', async () => {
    const files = await pickles(`data = [str(i) for i in range(2000)]`, [4])
    const bytes = files.get(4) as Buffer
    assert.equal((readPickle(bytes) as string[]).length, 2000)
    const memo = refusal(() => readPickle(bytes, { maxMemo: 1000 }))
    assert.equal(memo.reason, 'limit')
    assert.match(memo.message, /memo entries/)
    const stack = refusal(() => readPickle(bytes, { maxStack: 500 }))
    assert.match(stack.message, /values on the stack/)

    // a flood of NONEs: the stack cap, not memory, stops it
    const flood = new Uint8Array(200_000).fill(0x4e)
    assert.match(refusal(() => readPickle(flood, { maxStack: 100_000 })).message, /on the stack/)

    const deep = await pickles(`data = []\nfor _ in range(150):\n    data = [data]`, [2, 4])
    for (const b of deep.values()) {
      assert.match(refusal(() => readPickle(b)).message, /nested deeper than 100/)
      assert.ok(readPickle(b, { maxDepth: 200 }))
    }
  })

  test('an int of thousands of digits is refused, not computed', () => {
    const digits = Buffer.from(`L${'9'.repeat(5000)}L\n.`, 'latin1')
    assert.equal(refusal(() => readPickle(digits)).reason, 'limit')
  })
})

describe('parseHashSpec', () => {
  test('valid specs', () => {
    assert.deepEqual(parseHashSpec('pbkdf2-sha256:100000'), {
      algorithm: 'pbkdf2-sha256',
      iterations: 100000,
    })
    assert.deepEqual(parseHashSpec('PBKDF2-SHA512:210000'), {
      algorithm: 'pbkdf2-sha512',
      iterations: 210000,
    })
    assert.deepEqual(parseHashSpec('sha256:{salt}{password}'), {
      algorithm: 'sha256',
      template: '{salt}{password}',
    })
    assert.deepEqual(parseHashSpec('md5:{password}:{salt}'), {
      algorithm: 'md5',
      template: '{password}:{salt}',
    })
    assert.deepEqual(parseHashSpec('sha1'), { algorithm: 'sha1' })
    assert.deepEqual(parseHashSpec('firebase-scrypt'), { algorithm: 'firebase-scrypt' })
  })

  test('bad specs throw clear errors', () => {
    const bad: [string, RegExp][] = [
      ['bcrypt', /unknown algorithm "bcrypt" \(one of sha256, /],
      ['', /unknown algorithm ""/],
      ['pbkdf2-sha256', /needs its iterations/],
      ['pbkdf2-sha256:', /needs its iterations/],
      ['pbkdf2-sha256:1e5', /needs its iterations/],
      ['pbkdf2-sha256:0', /iterations must be 1 to/],
      ['sha256:{salt}', /the template has no \{password\}/],
      ['sha256:{pass}{salt}', /unknown placeholder \{pass\}/],
      ['firebase-scrypt:8', /takes no parameters here/],
    ]
    for (const [spec, message] of bad) assert.throws(() => parseHashSpec(spec), message, spec)
  })

  test('a spec’s parts reach the digest, and a salted template needs a salt', () => {
    const [ok, missing] = records(
      { a: { hash: 'ab' }, b: { hash: 'cd' } },
      { hash: 'md5:{password}', hashEncoding: 'hex' },
    )
    assert.deepEqual(ok?.record?.password_hash, {
      algorithm: 'md5',
      template: '{password}',
      hash: 'ab',
      encoding: 'hex',
    })
    assert.ok(missing?.record)
    const [needsSalt] = records({ a: { hash: 'ab' } }, { hash: 'sha1:{salt}{password}' })
    assert.equal(needsSalt?.error, 'no salt for the template {salt}{password}')
    const [pbkdf2] = records({ a: { hash: 'ab' } }, { hash: 'pbkdf2-sha512:1000' })
    assert.equal(pbkdf2?.error, 'no salt for pbkdf2-sha512')
    const [notHex] = records({ a: { hash: 'xyz', salt: 's' } }, { hash: 'sha256' })
    assert.equal(notHex?.error, 'the hash (hash) is not hex')
    const [b64] = records(
      { a: { hash: 'q80=', salt: 'zz' } },
      { hash: 'sha256', hashEncoding: 'base64', saltEncoding: 'hex' },
    )
    assert.equal(b64?.error, 'the salt (salt) is not hex')
  })
})
