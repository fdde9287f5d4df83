// argon2id hashes run on libuv's thread pool. At the same priority as the event loop they take
// its core whenever every core hashes, and cheap requests wait behind them. A lower priority (a
// higher nice value) for the pool threads lets the event loop run the moment it has work. Linux
// only: there a thread id is accepted wherever a process id is, and pool threads are named.
import { readdirSync, readFileSync } from 'node:fs'
import { setPriority } from 'node:os'

const TASKS = '/proc/self/task'

/** Sets the nice value of libuv's pool threads; returns how many were changed (0 elsewhere). */
export function lowerThreadPoolPriority(nice: number): number {
  if (process.platform !== 'linux' || nice === 0) return 0
  let changed = 0
  for (const tid of readdirSync(TASKS)) {
    try {
      if (readFileSync(`${TASKS}/${tid}/comm`, 'utf8').trim() !== 'libuv-worker') continue
      setPriority(Number(tid), nice)
      changed++
    } catch {
      // A thread that ended meanwhile: the service runs either way.
    }
  }
  return changed
}
