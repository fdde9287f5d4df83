import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'

// The import graph of src/, read from the source text: what the architecture tests check.

export interface Import {
  from: string
  to: string
  line: number
}

const SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g

/** Every .ts file under `dir`, relative to `root`. */
export async function sourceFiles(root: string, dir = 'src'): Promise<string[]> {
  const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true })
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort()
}

/** The relative imports of each file (type-only imports too: they are knowledge of a shape). */
export async function imports(root: string, files: string[]): Promise<Import[]> {
  const found: Import[] = []
  for (const file of files) {
    const text = await readFile(join(root, file), 'utf8')
    for (const match of text.matchAll(SPECIFIER)) {
      const specifier = match[1] ?? match[2] ?? match[3]
      if (!specifier?.startsWith('.')) continue
      const to = relative(root, resolve(root, dirname(file), specifier))
      const line =
        text.slice(0, match.index).split('\n').length + (match[0].startsWith('\n') ? 1 : 0)
      found.push({ from: file, to, line })
    }
  }
  return found
}

/** A file's place in the architecture: its top folder under src/, or the file at src/'s root. */
export function unitOf(file: string): string {
  const parts = file.split('/')
  return parts.length > 2 ? `${parts[0]}/${parts[1]}/` : file
}

/**
 * The cycles of a directed graph: its strongly connected components of more than one node, or
 * of one node with an edge to itself (Tarjan's algorithm).
 */
export function cycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  let next = 0
  const visit = (node: string) => {
    index.set(node, next)
    low.set(node, next)
    next++
    stack.push(node)
    onStack.add(node)
    for (const to of edges.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to)
        low.set(node, Math.min(low.get(node) as number, low.get(to) as number))
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) as number, index.get(to) as number))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop() as string
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1 || edges.get(node)?.has(node)) found.push(component.sort())
    }
  }
  for (const node of edges.keys()) if (!index.has(node)) visit(node)
  return found
}

/** The graph between units: an edge for every import that crosses from one unit to another. */
export function unitGraph(found: Import[]): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>()
  for (const { from, to } of found) {
    const [a, b] = [unitOf(from), unitOf(to)]
    if (!edges.has(a)) edges.set(a, new Set())
    if (!edges.has(b)) edges.set(b, new Set())
    if (a !== b) edges.get(a)?.add(b)
  }
  return edges
}
