// Debian's Python with its packaged hash libraries (python3-werkzeug, -django, -passlib, -bcrypt,
// -argon2): /usr/bin/python3 by path, as the `python3` first on PATH may be another interpreter.
// One process per call: batch the work into one script and one JSON input.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

export const SYSTEM_PYTHON = '/usr/bin/python3'

const run = promisify(execFile)

/**
 * Runs `script` with `input` as JSON on stdin (the global `data`) and gives back what the script
 * prints as JSON with `emit(value)`. A Python error fails with its traceback.
 */
export async function python<T>(script: string, input: unknown = null): Promise<T> {
  const prelude =
    'import json, sys\ndata = json.load(sys.stdin)\ndef emit(value):\n    print(json.dumps(value))\n'
  const child = run(SYSTEM_PYTHON, ['-c', prelude + script], {
    maxBuffer: 16 * 1024 * 1024,
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONIOENCODING: 'utf-8' },
  })
  child.child.stdin?.end(JSON.stringify(input))
  const { stdout } = await child
  return JSON.parse(stdout) as T
}
