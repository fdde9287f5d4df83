import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { codePoints, fold, nfkc } from '../../src/text.ts'
import { checkLogin, LOGIN_MAX_LENGTH, LOGIN_MIN_LENGTH } from '../../src/users/login-name.ts'

const COMPOSED = 'jos\u00e9'
const DECOMPOSED = 'jose\u0301'
/** U+20000, a CJK Extension B ideograph: a letter outside the BMP that NFKC leaves alone. */
const CJK_B = '\u{20000}'
/** U+1D49C MATHEMATICAL SCRIPT CAPITAL A: astral, and NFKC turns it into "A". */
const MATH_A = '\u{1D49C}'

function key(login: string): string {
  const checked = checkLogin(login)
  assert.ok(checked.ok, `${JSON.stringify(login)} should be valid: ${JSON.stringify(checked)}`)
  return checked.key
}

function codes(login: string): string[] {
  const checked = checkLogin(login)
  assert.ok(!checked.ok, `${JSON.stringify(login)} should be refused`)
  return checked.errors.map((e) => e.code)
}

describe('checkLogin', () => {
  test('the bounds are 3 and 64 code points', () => {
    assert.equal(LOGIN_MIN_LENGTH, 3)
    assert.equal(LOGIN_MAX_LENGTH, 64)
  })

  test('valid logins of any script and with . _ - @ +', () => {
    for (const login of [
      'Иван',
      'ivan@example.com',
      COMPOSED,
      DECOMPOSED,
      'mary-jane_o.neil+1',
      '张伟明',
      'हिन्दी', // Devanagari: letters with combining marks
      'محمد',
      'a1b',
      '123',
      '٣ab', // starts with an Arabic-Indic digit
      'ivan.', // only the first character is restricted
      'Ｉｖａｎ',
    ]) {
      const checked = checkLogin(login)
      assert.equal(checked.ok, true, `${login}: ${JSON.stringify(checked)}`)
    }
  })

  test('length: 3 to 64 code points', () => {
    assert.deepEqual(codes('ab'), ['too_short'])
    assert.deepEqual(codes(''), ['too_short', 'invalid_format'])
    assert.equal(checkLogin('abc').ok, true)
    assert.equal(checkLogin('a'.repeat(64)).ok, true)
    assert.deepEqual(codes('a'.repeat(65)), ['too_long'])
  })

  test('length is counted after NFKC', () => {
    // One code point, three after NFKC (ﬃ → ffi): long enough.
    assert.equal(checkLogin('\ufb03').ok, true)
    // 63 + "e" + combining acute = 65 code points as given, 64 after NFKC (é): short enough.
    const long = `${'a'.repeat(63)}e\u0301`
    assert.equal(codePoints(long), 65)
    assert.equal(checkLogin(long).ok, true)
    // Two decomposed é are 4 code points as given but 2 after NFKC: too short.
    assert.deepEqual(codes('e\u0301e\u0301'), ['too_short'])
  })

  test('64 astral letters count as 64 code points, not 128 UTF-16 units', () => {
    for (const letter of [CJK_B, MATH_A]) {
      const name = letter.repeat(64)
      assert.equal(name.length, 128)
      assert.equal(checkLogin(name).ok, true, `${letter} × 64`)
      assert.deepEqual(codes(letter.repeat(65)), ['too_long'], `${letter} × 65`)
    }
    assert.equal(checkLogin(CJK_B.repeat(3)).ok, true)
    assert.deepEqual(codes(CJK_B.repeat(2)), ['too_short'])
  })

  test('white space anywhere is refused, not trimmed', () => {
    for (const login of [
      ' ivan',
      'ivan ',
      'iv an',
      'iv\u00a0an', // no-break space
      '\u00a0ivan',
      'iv\tan',
      'ivan\t',
      'ivan\n',
      '\u3000ivan', // ideographic space
      'iv\u2003an', // em space
      ' ivan ',
    ]) {
      assert.deepEqual(codes(login), ['invalid_format'], JSON.stringify(login))
    }
  })

  test('must start with a letter or a digit', () => {
    for (const login of ['.ivan', '_ivan', '-ivan', '@ivan', '+ivan', '\u0301abc']) {
      assert.deepEqual(codes(login), ['invalid_format'], JSON.stringify(login))
    }
  })

  test('anything but letters, marks, digits and . _ - @ + is refused', () => {
    for (const login of [
      'ivan!',
      'iv#an',
      'iv/an',
      'iv\\an',
      "o'neil",
      'iv\u0000an',
      'ivan\u{1F600}', // emoji
      'a\u00adb', // soft hyphen
      'ab\u200bc', // zero-width space
      'ab\u200dc', // zero-width joiner
      'ab<c>',
    ]) {
      assert.deepEqual(codes(login), ['invalid_format'], JSON.stringify(login))
    }
  })

  test('every failed rule is reported, under the field given', () => {
    const checked = checkLogin(' a', 'new_login')
    assert.equal(checked.ok, false)
    assert.deepEqual(!checked.ok && checked.errors.map((e) => [e.field, e.code]), [
      ['new_login', 'too_short'],
      ['new_login', 'invalid_format'],
    ])
    const plain = checkLogin('!')
    assert.ok(!plain.ok)
    assert.ok(plain.errors.every((e) => e.field === 'login' && e.message.length > 0))
  })

  test('case and NFKC variants share one key', () => {
    for (const variant of ['Ivan', 'ivan', 'IVAN', 'iVaN', 'Ｉｖａｎ', 'ＩＶＡＮ']) {
      assert.equal(key(variant), 'ivan', variant)
    }
  })

  test('ß folds to ss: Straße and STRASSE share one key', () => {
    assert.equal(key('Straße'), 'strasse')
    assert.equal(key('STRASSE'), 'strasse')
    assert.equal(key('strasse'), 'strasse')
  })

  test('é composed and decomposed share one key', () => {
    assert.equal(key(COMPOSED), key(DECOMPOSED))
    assert.equal(key('JOSÉ'), key(COMPOSED))
    assert.equal(key('JOSE\u0301'), key(COMPOSED))
    assert.equal(key(COMPOSED), 'jos\u00e9')
  })

  test('Greek capital, final and medial sigma share one key', () => {
    assert.equal(key('ΟΔΟΣ'), key('οδος'))
    assert.equal(key('οδοσ'), key('οδος'))
  })

  test('other logins have other keys', () => {
    assert.notEqual(key('ivan'), key('ivan1'))
    assert.notEqual(key('jose'), key(COMPOSED))
    assert.notEqual(key('Иван'), key('Ivan'))
  })
})

describe('text', () => {
  test('nfkc: compatibility forms and composition', () => {
    assert.equal(nfkc('Ｉｖａｎ'), 'Ivan')
    assert.equal(nfkc(DECOMPOSED), COMPOSED)
    assert.equal(nfkc('\ufb01'), 'fi')
    assert.equal(nfkc(MATH_A), 'A')
    assert.equal(nfkc('\u00a0'), ' ')
  })

  test('fold: NFKC plus case folding, stable when applied twice', () => {
    assert.equal(fold('Straße'), 'strasse')
    assert.equal(fold('ＳＴＲＡＳＳＥ'), 'strasse')
    assert.equal(fold('JOSE\u0301'), COMPOSED)
    assert.equal(fold('Иван'), 'иван')
    for (const text of ['Straße', 'ΟΔΟΣ', 'Ｉｖａｎ', DECOMPOSED, '\ufb03', CJK_B]) {
      assert.equal(fold(fold(text)), fold(text), text)
    }
  })

  test('codePoints counts code points, not UTF-16 units', () => {
    assert.equal(codePoints(''), 0)
    assert.equal(codePoints('abc'), 3)
    assert.equal(codePoints(CJK_B), 1)
    assert.equal(codePoints('\u{1F409}\u{1F409}'), 2)
    assert.equal(codePoints(DECOMPOSED), 5)
    assert.equal(codePoints(COMPOSED), 4)
  })
})
