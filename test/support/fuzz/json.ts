// Arbitraries of JSON documents as text: repeated and dangerous keys, deep nesting, huge strings.
import fc from 'fast-check'
import { LIMIT } from './bodies.ts'
import { nastyString } from './text.ts'

/** A JSON tree kept as text pieces, so keys may repeat and escapes may be chosen. */
export type Tree =
  | { kind: 'raw'; text: string }
  | { kind: 'array'; items: Tree[] }
  | { kind: 'object'; entries: Array<[string, Tree]> }

/** Key spellings: the dangerous names (also \u-escaped), the fields, and anything else. */
const keyText = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      '"__proto__"',
      '"\\u005f_proto__"',
      '"__proto\\u005f_"',
      '"constructor"',
      '"\\u0063onstructor"',
      '"prototype"',
      '"toString"',
      '"hasOwnProperty"',
      '"valueOf"',
      '"__defineGetter__"',
      '"login"',
      '"password"',
      '"current_password"',
      '"new_password"',
      '"refresh_token"',
      '"role"',
      '"id"',
      '""',
    ),
    weight: 3,
  },
  { arbitrary: nastyString(12).map((s) => JSON.stringify(s)), weight: 1 },
)

const scalarText = fc.oneof(
  fc.constantFrom(
    'null',
    'true',
    'false',
    '0',
    '-0',
    '1e400',
    '-1e400',
    '123456789012345678901234567890',
    '0.1',
    '1E-7',
    '""',
    '"\\u0000"',
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\uDBFF"',
  ),
  fc.double().map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  nastyString().map((s) => JSON.stringify(s)),
)

export const tree: fc.Arbitrary<Tree> = fc.letrec<{
  tree: Tree
  array: Tree
  object: Tree
}>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarText.map((text): Tree => ({ kind: 'raw', text })),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('tree'), { maxLength: 4 }).map((items): Tree => ({ kind: 'array', items })),
  object: fc
    .array(fc.tuple(keyText, tie('tree')), { maxLength: 5 })
    .map((entries): Tree => ({ kind: 'object', entries })),
})).tree

export function treeText(t: Tree): string {
  switch (t.kind) {
    case 'raw':
      return t.text
    case 'array':
      return `[${t.items.map(treeText).join(',')}]`
    case 'object':
      return `{${t.entries.map(([k, v]) => `${k}:${treeText(v)}`).join(',')}}`
  }
}

/** A body with the field names of `fields`, each with a random value (a string half the time). */
export function shapedBody(fields: string[], strings: fc.Arbitrary<string> = nastyString()) {
  const value = fc.oneof(
    { arbitrary: strings.map((s) => JSON.stringify(s)), weight: 3 },
    { arbitrary: tree.map(treeText), weight: 1 },
  )
  return fc
    .tuple(
      fc.oneof(
        { arbitrary: fc.constant(fields), weight: 3 },
        { arbitrary: fc.subarray(fields), weight: 1 },
      ),
      fc.array(value, { minLength: fields.length, maxLength: fields.length }),
      fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 3 },
        { arbitrary: fc.tuple(keyText, tree.map(treeText)), weight: 1 },
      ),
    )
    .map(([present, values, extra]) => {
      const parts = present.map((f, i) => `${JSON.stringify(f)}:${values[i]}`)
      if (extra) parts.push(`${extra[0]}:${extra[1]}`)
      return `{${parts.join(',')}}`
    })
}

/** Deep nesting: `[[[…]]]` or `{"a":{"a":…}}`, alone or as a field value. */
export const deepText = fc
  .tuple(
    fc.integer({ min: 1, max: 12_000 }),
    fc.constantFrom('array', 'object'),
    fc.constantFrom('', 'login', 'password', 'refresh_token', 'new_password'),
  )
  .map(([depth, kind, field]) => {
    const inner =
      kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : nestedObject(depth)
    return field === '' ? inner : `{${JSON.stringify(field)}:${inner}}`
  })

function nestedObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
}

/** A field holding a long string: sizes around and far beyond the 16 KiB body limit. */
export const hugeText = fc
  .tuple(
    fc.constantFrom('login', 'password', 'refresh_token', 'current_password', 'new_password', 'x'),
    fc.constantFrom('a', 'é', '😀', '\\u0000', '\\ud800', ' '),
    fc.oneof(
      fc.integer({ min: 1, max: 200_000 }),
      fc.integer({ min: LIMIT - 64, max: LIMIT + 64 }),
    ),
  )
  .map(([field, unit, n]) => `{${JSON.stringify(field)}:"${unit.repeat(n)}"}`)
