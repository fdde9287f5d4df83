import { AppError } from '../errors.ts'

export interface Admission {
  run<T>(task: () => Promise<T>): Promise<T>
  /** Throws 503 overloaded now if a task would be refused: lets callers refuse before other work. */
  assertAdmits(): void
  readonly active: number
  readonly queued: number
}

export interface AdmissionOptions {
  concurrency: number
  /** Hard cap on waiting tasks. */
  queueLimit: number
  /**
   * Admit a task only if its expected wait (tasks ahead of it × the average task time ÷
   * concurrency) is at most this long: the queue stays as deep as the hardware can drain in
   * that time, whatever the hash cost and the machine.
   */
  maxWaitMs: number
  /** Milliseconds from a monotonic clock; tests give their own to time tasks exactly. */
  now?: () => number
}

const WARM_UP_SAMPLES = 10

const overloaded = () =>
  new AppError('overloaded', {
    detail: 'Too many password checks are in progress; try again shortly.',
    headers: { 'retry-after': '1' },
  })

/**
 * Admission to the hashing threads: at most `concurrency` tasks at once, and a bounded wait for
 * the rest; beyond that the request is refused at once (503 overloaded) instead of piling up
 * latency and memory. (Not the throttle: that one limits attempts per account and address.)
 */
export function createAdmission({
  concurrency,
  queueLimit,
  maxWaitMs,
  now = () => performance.now(),
}: AdmissionOptions): Admission {
  let active = 0
  // Exponentially weighted average of task durations: what a place in the queue costs. The
  // first few (cold threads, JIT) say little, so the wait bound applies once there are enough.
  let averageMs = 0
  let samples = 0
  const waiting: Array<() => void> = []
  const release = () => {
    active--
    const next = waiting.shift()
    if (next) {
      active++
      next()
    }
  }
  const expectedWaitMs = () => ((waiting.length + 1) * averageMs) / concurrency
  const admits = () =>
    active < concurrency ||
    (waiting.length < queueLimit && (samples < WARM_UP_SAMPLES || expectedWaitMs() <= maxWaitMs))
  return {
    assertAdmits() {
      if (!admits()) throw overloaded()
    },
    get active() {
      return active
    },
    get queued() {
      return waiting.length
    },
    async run(task) {
      if (!admits()) throw overloaded()
      if (active < concurrency) active++
      else await new Promise<void>((resolve) => waiting.push(resolve))
      const started = now()
      try {
        return await task()
      } finally {
        const took = now() - started
        averageMs = samples === 0 ? took : averageMs * 0.9 + took * 0.1
        samples++
        release()
      }
    },
  }
}
