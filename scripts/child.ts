// Child processes the scripts and the benchmark start: wait for the line that says one has started,
// stop one and wait until it is gone.
import type { ChildProcess } from 'node:child_process'

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null

/** Resolves once the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (!running(child)) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** Sends `signal`, then SIGKILL if the child is still there after `graceMs`; resolves once gone. */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 15_000,
): Promise<void> {
  if (!running(child)) return
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited(child)
  clearTimeout(timer)
}

/**
 * The first match of `pattern` in the child's stdout or stderr (whichever are piped). Rejects,
 * with `what` and the output so far, if the child exits first or nothing matches within
 * `timeoutMs` (the child is then killed). Only the start-up is looked at: later output is dropped.
 */
export function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  what: string,
  timeoutMs = 60_000,
): Promise<RegExpExecArray> {
  let output = ''
  let settled = false
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`no start within ${timeoutMs} ms`), timeoutMs)
    const fail = (reason: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${what}: ${reason}\n${output}`))
    }
    const onData = (chunk: Buffer) => {
      if (settled) return
      output += chunk.toString()
      const match = pattern.exec(output)
      if (match) {
        settled = true
        clearTimeout(timer)
        resolve(match)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code, signal) => fail(`exited with ${code ?? signal}`))
  })
}
