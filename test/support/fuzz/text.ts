// Arbitraries of text: nasty characters, valid logins, strong passwords.
import fc from 'fast-check'

/** Characters that break naive code: NUL and other controls, lone surrogates, BOM, separators. */
export const nastyChar = fc.constantFrom(
  '\u0000',
  '\u0001',
  '\u0008',
  '\t',
  '\n',
  '\r',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u200b',
  '\u200e',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  'ﬁ',
  'Ⅻ',
  'ß',
  'İ',
  '😀',
  '"',
  '\\',
  '/',
  '%',
  '@',
  '.',
  '\u0301',
)

/** Any UTF-16 text, biased towards the nasty characters. */
export const nastyString = (maxLength = 40) =>
  fc.string({
    unit: fc.oneof(
      { arbitrary: nastyChar, weight: 2 },
      { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 3 },
      { arbitrary: fc.constantFrom('a', 'b', 'z', '0', '9', 'A', '_', '-'), weight: 3 },
    ),
    maxLength,
  })

/** A login the service accepts: letters of several scripts, and always a digit. */
export const validLogin = fc
  .tuple(
    fc.constantFrom('a', 'b', 'k', 'Z', 'é', 'ж', 'Ω', '中', 'ä', 'ı'),
    fc.string({
      unit: fc.constantFrom('a', 'q', 'x', 'Ж', 'ü', '.', '_', '-', '@', '+', 'δ', '5'),
      minLength: 1,
      maxLength: 20,
    }),
    fc.integer({ min: 0, max: 999_999 }),
  )
  .map(([first, rest, n]) => `${first}${rest}${n}`)

const WORDS = [
  'granite',
  'lantern',
  'orchard',
  'velvet',
  'harbour',
  'thistle',
  'meadow',
  'compass',
  'juniper',
  'quarry',
  'saffron',
  'tundra',
]

/** A password the policy accepts: 4–6 words, no digit (so it can never contain a login). */
export const strongPassword = fc
  .array(fc.constantFrom(...WORDS), { minLength: 4, maxLength: 6 })
  .chain((words) =>
    fc.constantFrom(' ', '-', '_', '').map((sep) => words.join(sep === '' ? ' ' : sep)),
  )
