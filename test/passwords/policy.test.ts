import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { dictionary } from '@zxcvbn-ts/language-common'
import {
  createPasswordPolicy,
  normalisePassword,
  PASSWORD_MAX_LENGTH,
} from '../../src/passwords/policy.ts'
import { checkLogin } from '../../src/users/login-name.ts'

const common = dictionary['passwords-common'] as string[]
const policy = createPasswordPolicy(15)

/** The codes of the rules `password` breaks, in the order the policy reports them. */
function codes(password: string, loginKey?: string, p = policy): string[] {
  return p.check(password, 'password', loginKey).map((e) => e.code)
}

/** The folded key of a valid login, as registration passes it to the policy. */
function loginKey(login: string): string {
  const checked = checkLogin(login)
  assert.ok(checked.ok, login)
  return checked.key
}

describe('password policy', () => {
  test('the default policy: 15 to 256 code points', () => {
    assert.equal(policy.minLength, 15)
    assert.equal(policy.maxLength, 256)
    assert.equal(PASSWORD_MAX_LENGTH, 256)
    assert.equal(createPasswordPolicy(8).minLength, 8)
  })

  test('14 code points is too short, 15 is enough', () => {
    const fifteen = 'vX7#kq9!Lm2@pR4'
    assert.equal([...fifteen].length, 15)
    assert.deepEqual(codes(fifteen.slice(0, 14)), ['too_short'])
    assert.deepEqual(codes(fifteen), [])
  })

  test('the too_short and too_long messages name their bound, also as a number, under the field given', () => {
    const errors = policy.check('q7-vz!kp', 'new_password')
    assert.deepEqual(errors, [
      {
        field: 'new_password',
        code: 'too_short',
        message: 'must be at least 15 characters long',
        limit: 15,
      },
    ])
    const eight = createPasswordPolicy(8).check('q7-vz!k', 'password')
    assert.deepEqual(
      eight.map((e) => [e.code, e.message, e.limit]),
      [['too_short', 'must be at least 8 characters long', 8]],
    )
    const long = policy.check('q7-vz!kp'.repeat(33), 'password')
    assert.deepEqual(
      long.map((e) => [e.code, e.limit]),
      [['too_long', 256]],
    )
  })

  test('an emoji or another astral character counts as one', () => {
    const dragon = '\u{1F409}'
    assert.equal(dragon.repeat(14).length, 28) // more than 15 UTF-16 units…
    assert.deepEqual(codes(dragon.repeat(14)), ['too_short']) // …but 14 code points
    assert.deepEqual(codes(dragon.repeat(15)), [])
    assert.deepEqual(codes('\u{20000}'.repeat(15)), [])
    assert.deepEqual(codes('\u{20000}'.repeat(14)), ['too_short'])
  })

  test('length is counted after NFKC', () => {
    // Five ﬃ ligatures are 15 letters after NFKC.
    assert.deepEqual(codes('\ufb03'.repeat(5)), [])
    // Eight decomposed é are 16 code points as given, 8 after NFKC.
    assert.deepEqual(codes('e\u0301'.repeat(8)), ['too_short'])
  })

  test('256 code points pass, 257 are too long', () => {
    assert.deepEqual(codes('p'.repeat(256)), [])
    assert.deepEqual(codes('p'.repeat(257)), ['too_long'])
    assert.deepEqual(codes('\u{1F409}'.repeat(256)), [])
    assert.deepEqual(codes('\u{1F409}'.repeat(257)), ['too_long'])
    assert.equal(
      policy.check('p'.repeat(257), 'password')[0]?.message,
      'must be at most 256 characters long',
    )
  })

  test('any Unicode, spaces included, and no composition rules', () => {
    for (const password of [
      'correct horse battery staple',
      'правильная лошадь батарейка',
      '\u{1F434}\u{1F50B}\u{1F4CE} correct staple \u{1F434}',
      '  leading and trailing spaces  ',
      'thisisalllowercaseandlongenough',
      'ALL UPPER CASE PASSPHRASE',
      '九月的大海很平静而且很蓝很蓝很',
      'a\u00a0no-break\u3000ideographic space',
      'café au lait, se\u0301rieusement',
    ]) {
      assert.deepEqual(codes(password), [], password)
    }
    assert.deepEqual(codes('九月的大海很平静而且很蓝很蓝'), ['too_short'])
  })

  test('the blocklist is the common-password list, compared case-insensitively', () => {
    for (const entry of ['passwordpassword', '1qaz2wsx3edc4rfv']) {
      assert.ok(common.includes(entry), `${entry} is in passwords-common`)
      assert.deepEqual(codes(entry), ['common_password'], entry)
      assert.deepEqual(codes(entry.toUpperCase()), ['common_password'], entry.toUpperCase())
    }
    assert.deepEqual(codes('PasswordPassword'), ['common_password'])
    // Full-width letters are the same password after NFKC.
    assert.deepEqual(codes('ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ'), ['common_password'])
  })

  test('every listed password of at least 15 characters is refused, in any case', () => {
    const long = common.filter((entry) => [...entry].length >= 15)
    assert.ok(long.length > 10, `only ${long.length} long entries`)
    for (const entry of long) {
      assert.deepEqual(codes(entry), ['common_password'], entry)
      assert.deepEqual(codes(entry.toUpperCase()), ['common_password'], entry.toUpperCase())
    }
  })

  test('with a minimum of 8, short common passwords are caught by the blocklist', () => {
    const eight = createPasswordPolicy(8)
    for (const entry of ['password1', 'iloveyou', 'qwerty123']) {
      assert.ok(common.includes(entry), `${entry} is in passwords-common`)
      assert.deepEqual(codes(entry, undefined, eight), ['common_password'], entry)
    }
    assert.deepEqual(codes('Password1', undefined, eight), ['common_password'])
    assert.deepEqual(codes('q7-vz!kp', undefined, eight), [])
  })

  test('a password that contains the login is refused (case-insensitive, NFKC)', () => {
    const key = loginKey('Zorblax')
    assert.deepEqual(codes('my zorblax is a fine one', key), ['contains_login'])
    assert.deepEqual(codes('MY ZORBLAX IS A FINE ONE', key), ['contains_login'])
    assert.deepEqual(codes('my ＺＯＲＢＬＡＸ is a fine one', key), ['contains_login'])
    assert.deepEqual(codes('zorblax', key).sort(), ['contains_login', 'too_short'])
    // ß and ss are one login, so they are one word inside a password too.
    assert.deepEqual(codes('meine STRASSE ist lang', loginKey('Straße')), ['contains_login'])
    assert.deepEqual(codes('meine Straße ist lang', loginKey('strasse')), ['contains_login'])
    // é composed in the login, decomposed in the password.
    assert.deepEqual(codes('hello jose\u0301, how are you', loginKey('José')), ['contains_login'])
  })

  test('without a login, or with another one, contains_login does not apply', () => {
    assert.deepEqual(codes('my zorblax is a fine one'), [])
    assert.deepEqual(codes('my zorblax is a fine one', loginKey('ivan')), [])
  })

  test('control characters and unpaired surrogates are invalid_characters', () => {
    for (const password of [
      'correct horse\u0000battery staple',
      'correct horse\u0007battery staple',
      'correct horse\tbattery staple',
      'correct horse battery staple\n',
      'correct horse\u007fbattery staple', // DEL
      'correct horse\u0085battery staple', // NEL, a C1 control
      'correct horse \ud800 battery staple', // lone high surrogate
      'correct horse \udc00 battery staple', // lone low surrogate
      'correct horse battery staple \ud83d', // an emoji cut in half
    ]) {
      assert.deepEqual(codes(password), ['invalid_characters'], JSON.stringify(password))
    }
  })

  test('every failed rule is reported together', () => {
    const key = loginKey('zorb')
    assert.deepEqual(codes('zorb\u0000', key).sort(), [
      'contains_login',
      'invalid_characters',
      'too_short',
    ])
    assert.deepEqual(codes('passwordpassword', loginKey('password')).sort(), [
      'common_password',
      'contains_login',
    ])
    assert.deepEqual(codes(`zorb\u0001${'x'.repeat(260)}`, key).sort(), [
      'contains_login',
      'invalid_characters',
      'too_long',
    ])
    for (const error of policy.check('zorb\u0000', 'new_password', key)) {
      assert.equal(error.field, 'new_password')
      assert.ok(error.message.length > 0)
    }
  })

  test('normalisePassword: é composed or decomposed is one password', () => {
    assert.equal(normalisePassword('se\u0301rieux'), normalisePassword('s\u00e9rieux'))
    assert.equal(normalisePassword('ｐａｓｓ'), 'pass')
    // Case is kept: only the blocklist and login checks ignore it.
    assert.equal(normalisePassword('PaSs'), 'PaSs')
  })
})
