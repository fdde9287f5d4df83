import type { Counter } from 'prom-client'
import { AppError, type ErrorCode } from '../errors.ts'

/** Runs `work` and counts its outcome: `success`, or the label its error code maps to. */
export async function counted<T>(
  counter: Counter<'outcome'>,
  success: string,
  failures: Partial<Record<ErrorCode, string>>,
  work: () => Promise<T>,
): Promise<T> {
  try {
    const result = await work()
    counter.inc({ outcome: success })
    return result
  } catch (error) {
    const outcome = error instanceof AppError ? failures[error.code] : undefined
    if (outcome) counter.inc({ outcome })
    throw error
  }
}
