import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  newRecoveryCode,
  parseRecoveryCode,
  SECRET_BITS,
} from '../../src/factors/recovery-code-format.ts'
import { CODE_PATTERN } from '../support/recovery-codes.ts'

test('a code is 5 groups of 4 Crockford base32 characters: a selector and 80 secret bits', () => {
  assert.ok(SECRET_BITS >= 64, 'NIST SP 800-63B §3.1.2.1: at least 64 bits')
  assert.equal(SECRET_BITS, 80)
  const seen = new Set<string>()
  const letters = new Set<string>()
  for (let i = 0; i < 2000; i++) {
    const code = newRecoveryCode()
    assert.match(code.display, CODE_PATTERN)
    assert.equal(code.canonical, code.display.replaceAll('-', ''))
    assert.equal(code.selector, code.display.slice(0, 4))
    assert.deepEqual(parseRecoveryCode(code.display), {
      selector: code.selector,
      canonical: code.canonical,
    })
    seen.add(code.canonical)
    for (const c of code.canonical) letters.add(c)
  }
  assert.equal(seen.size, 2000, 'no repeats')
  // Every one of the 32 symbols turns up (40,000 draws), and no other.
  assert.equal([...letters].sort().join(''), '0123456789ABCDEFGHJKMNPQRSTVWXYZ')
})

test('a code is read in any case, with or without separators, with Crockford’s confusables', () => {
  const canonical = '7KQ2M4XD9RVA0TNEHB1W'
  const expected = { selector: '7KQ2', canonical }
  for (const typed of [
    '7KQ2-M4XD-9RVA-0TNE-HB1W',
    '7kq2-m4xd-9rva-0tne-hb1w',
    '7KQ2M4XD9RVA0TNEHB1W',
    '7KQ2 M4XD 9RVA 0TNE HB1W',
    '  7kq2 m4xd-9rva  0tne\tHB1W \n',
    '7KQ2–M4XD—9RVA‐0TNE−HB1W', // en and em dash, hyphen, minus: as word processors paste them
    '７ＫＱ２-Ｍ４ＸＤ-９ＲＶＡ-０ＴＮＥ-ＨＢ１Ｗ', // full width (NFKC)
    '7KQ2-M4XD-9RVA-OTNE-HBIW', // O for 0, I for 1
    '7kq2-m4xd-9rva-otne-hblw', // o for 0, l for 1
    '7KQ2-M4XD-9RVA-oTNE-HBLW',
  ]) {
    assert.deepEqual(parseRecoveryCode(typed), expected, JSON.stringify(typed))
  }
})

test('what cannot be a code is refused before any lookup', () => {
  for (const typed of [
    '',
    '7KQ2-M4XD-9RVA-0TNE',
    '7KQ2-M4XD-9RVA-0TNE-HB1W-0000',
    '7KQ2-M4XD-9RVA-0TNE-HB1U', // U is not Crockford
    '7KQ2-M4XD-9RVA-0TNE-HB1*',
    '7KQ2_M4XD_9RVA_0TNE_HB1W',
    '7KQ2-M4XD-9RVA-0TNE-HB1W\u0000',
  ]) {
    assert.equal(parseRecoveryCode(typed), undefined, JSON.stringify(typed))
  }
})
