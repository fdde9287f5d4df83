import { createInterface } from 'node:readline/promises'

/**
 * A secret from a pipe (first line), or typed at a terminal without echo. Undefined when standard
 * input ends before a line: nothing was given (an empty line is an empty secret).
 */
export async function readSecret(prompt: string): Promise<string | undefined> {
  const input = process.stdin
  if (!input.isTTY) {
    const rl = createInterface({ input, terminal: false })
    for await (const line of rl) {
      rl.close()
      return line
    }
    return undefined
  }
  process.stderr.write(prompt)
  input.setRawMode(true)
  input.resume()
  input.setEncoding('utf8')
  return new Promise((resolve, reject) => {
    let secret = ''
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          done()
          resolve(secret)
          return
        }
        if (char === '\u0003') {
          done()
          reject(new Error('cancelled'))
          return
        }
        if (char === '\u007f' || char === '\b') secret = [...secret].slice(0, -1).join('')
        else secret += char
      }
    }
    const done = () => {
      input.off('data', onData)
      input.setRawMode(false)
      input.pause()
      process.stderr.write('\n')
    }
    input.on('data', onData)
  })
}
