/**
 * Whether valid JSON text has an object with the same key twice. JSON.parse keeps the last one,
 * other parsers the first: a body meaning two things is refused rather than guessed at.
 */
export function hasDuplicateKey(text: string): boolean {
  const objects: Array<Set<string> | null> = [] // null: an array
  let expectingKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      let end = i + 1
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      const keys = objects.at(-1)
      if (expectingKey && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string
        if (keys.has(key)) return true
        keys.add(key)
        expectingKey = false
      }
      i = end
    } else if (c === '{') {
      objects.push(new Set())
      expectingKey = true
    } else if (c === '[') {
      objects.push(null)
    } else if (c === '}' || c === ']') {
      objects.pop()
      expectingKey = false
    } else if (c === ',') {
      expectingKey = objects.at(-1) instanceof Set
    }
  }
  return false
}
