// A refused request, whether the service refused it (a problem document) or the browser did
// (no network, a passkey dialog cancelled): forms show both the same way, by code.

/** @typedef {{ field: string, code: string, message: string, limit?: number }} FieldError */
/** @typedef {{ status: number, code: string, title?: string, detail?: string, errors?: FieldError[] }} Problem */

/** A refused request: the problem document, or a code of this page's own (status 0). */
export class ApiError extends Error {
  /**
   * @param {Problem} problem
   * @param {number | undefined} retryAfter seconds, from Retry-After
   */
  constructor(problem, retryAfter) {
    super(problem.title ?? problem.code)
    this.name = 'ApiError'
    this.status = problem.status
    this.code = problem.code
    this.errors = problem.errors ?? []
    this.retryAfter = retryAfter
  }
}

/**
 * A refusal of the browser's own: `network`, or one of the passkey_* codes.
 * @param {string} code
 */
export function pageError(code) {
  return new ApiError({ status: 0, code }, undefined)
}
