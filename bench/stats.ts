export interface Percentiles {
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** Nearest-rank percentiles of latencies in milliseconds (zeros when there are none). */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 }
  const sorted = Float64Array.from(values).sort()
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0
  const sum = sorted.reduce((a, b) => a + b, 0)
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1), mean: sum / sorted.length }
}

export const round = (value: number, digits = 1) => {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

/** Operations per second over `seconds`: `concurrency` loops, each awaiting one at a time. */
export async function opsPerSecond(
  operation: () => Promise<unknown>,
  seconds: number,
  concurrency: number,
): Promise<number> {
  let count = 0
  const started = performance.now()
  const end = started + seconds * 1000
  const loop = async () => {
    while (performance.now() < end) {
      await operation()
      count++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  return count / ((performance.now() - started) / 1000)
}
