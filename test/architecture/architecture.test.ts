import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { cycles, imports, sourceFiles, unitGraph, unitOf } from './imports.ts'

const root = join(import.meta.dirname, '../..')

describe('the import graph of src/', () => {
  test('the cycle finder finds cycles (and only cycles) in a graph made for it', () => {
    const graph = (pairs: string[]) => {
      const edges = new Map<string, Set<string>>()
      for (const pair of pairs) {
        const [a, b] = pair.split('>') as [string, string]
        edges.set(a, (edges.get(a) ?? new Set()).add(b))
        if (!edges.has(b)) edges.set(b, new Set())
      }
      return edges
    }
    assert.deepEqual(cycles(graph(['a>b', 'b>c', 'a>c'])), [])
    assert.deepEqual(cycles(graph(['a>b', 'b>c', 'c>a', 'c>d'])), [['a', 'b', 'c']])
    assert.deepEqual(cycles(graph(['a>b', 'b>a', 'c>d', 'd>c'])).length, 2)
    assert.deepEqual(cycles(graph(['a>a'])), [['a']])
  })

  test('imports are read from every form: import, import type, export from, side effect', async () => {
    const files = await sourceFiles(root)
    const found = await imports(root, files)
    const of = (file: string) => found.filter((i) => i.from === file).map((i) => i.to)
    assert.ok(of('src/cli.ts').includes('src/runtime.ts'), 'side-effect import')
    assert.ok(of('src/http/authenticate.ts').includes('src/users/types.ts'), 'import type')
    assert.ok(of('src/throttle/throttle.ts').includes('src/config/throttle.ts'), 'export from')
    assert.equal(unitOf('src/users/lock.ts'), 'src/users/')
    assert.equal(unitOf('src/app.ts'), 'src/app.ts')
  })

  test('no two folders of src/ import each other, directly or around a circle', async () => {
    const found = await imports(root, await sourceFiles(root))
    assert.ok(found.length > 100, `only ${found.length} imports read`)
    const circles = cycles(unitGraph(found))
    const explain = circles.map((members) => {
      const inside = found.filter(
        (i) => members.includes(unitOf(i.from)) && members.includes(unitOf(i.to)),
      )
      const lines = inside
        .filter((i) => unitOf(i.from) !== unitOf(i.to))
        .map((i) => `  ${i.from}:${i.line} → ${i.to}`)
      return `${members.join(' ⇄ ')}\n${lines.join('\n')}`
    })
    assert.deepEqual(explain, [], `import cycles between folders:\n${explain.join('\n')}`)
  })

  test('domain folders never import the HTTP edge, the app or the command line', async () => {
    const found = await imports(root, await sourceFiles(root))
    const top = ['src/http/', 'src/app.ts', 'src/main.ts', 'src/cli.ts', 'src/cli/']
    // Every folder but the edges (http/, cli/, web/ which serves the page): new folders too.
    const edges = new Set(['src/http/', 'src/cli/', 'src/web/'])
    const domain = [...new Set(found.map((i) => unitOf(i.from)))].filter(
      (unit) => unit.endsWith('/') && !edges.has(unit),
    )
    assert.ok(domain.includes('src/users/') && domain.includes('src/db/'), domain.join(', '))
    const wrong = found.filter((i) => domain.includes(unitOf(i.from)) && top.includes(unitOf(i.to)))
    assert.deepEqual(wrong, [])
  })
})

describe('one place for each delicate rule', () => {
  /** Files of src/ whose text matches `pattern`. */
  async function filesMatching(pattern: RegExp): Promise<string[]> {
    const hits: string[] = []
    for (const file of await sourceFiles(root)) {
      if (pattern.test(await readFile(join(root, file), 'utf8'))) hits.push(file)
    }
    return hits
  }

  test('one function checks passwords: only authn/password.ts verifies them; the account throttle guards passwords, recovery codes and TOTP codes, nothing else', async () => {
    assert.deepEqual(await filesMatching(/\.verify(Dummy)?\(\s*(found|stored|dummy)/), [
      'src/authn/password.ts',
    ])
    // The account's one failure counter: passwords, saved recovery codes, mailed recovery codes
    // and TOTP codes (which count like failed logins, NIST SP 800-63B §3.2.2), each checked in
    // one place.
    assert.deepEqual(await filesMatching(/throttle\.guard\(/), [
      'src/authn/password.ts',
      'src/factors/recovery-code-check.ts',
      'src/factors/totp-service.ts',
      'src/recovery/complete.ts',
    ])
  })

  test('one helper takes the user lock: only users/lock.ts writes the no-op that locks', async () => {
    assert.deepEqual(await filesMatching(/password_changed_at: sql/), ['src/users/lock.ts'])
    const callers = await filesMatching(/withUserLock\(/)
    for (const file of [
      'src/sessions/service.ts',
      'src/authn/credentials.ts',
      'src/authn/email.ts',
      'src/recovery/complete.ts',
    ]) {
      assert.ok(callers.includes(file), `${file} takes the lock through withUserLock`)
    }
  })
})

describe('the README', () => {
  test('its folder map names every folder of src/, and no folder that is not there', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8')
    const map = /```\nsrc\/\n([\s\S]*?)```/.exec(readme)?.[1]
    assert.ok(map, 'no ```src/ … ``` block in the README')
    const named = new Set([...map.matchAll(/^ {2}([a-z-]+)\/ /gm)].map((m) => m[1] as string))
    const folders = new Set(
      (await sourceFiles(root))
        .map((f) => f.split('/'))
        .filter((p) => p.length > 2)
        .map((p) => p[1] as string),
    )
    assert.deepEqual([...named].sort(), [...folders].sort())
  })
})
