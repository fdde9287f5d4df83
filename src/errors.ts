// The one error catalogue. Codes are the contract clients branch on; titles are for humans.
export const catalogue = {
  bad_request: { status: 400, title: 'The request is malformed' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  invalid_code: { status: 400, title: 'The code is wrong, expired or already used' },
  invalid_passkey: {
    status: 400,
    title: 'The passkey response is invalid, or its challenge expired or was used',
  },
  invalid_credentials: { status: 401, title: 'Invalid login or password' },
  invalid_token: { status: 401, title: 'The access token is missing, invalid or expired' },
  invalid_refresh_token: { status: 401, title: 'The refresh token is invalid, spent or expired' },
  invalid_mfa_token: { status: 401, title: 'The mfa_token is invalid, spent or expired' },
  forbidden: { status: 403, title: 'Not allowed' },
  account_disabled: { status: 403, title: 'This account is disabled' },
  step_up_required: {
    status: 403,
    title: 'This needs a session signed in with the second factor (aal2)',
  },
  login_required: {
    status: 403,
    title: 'This application asks for a fresh sign-in: sign in again',
  },
  not_found: { status: 404, title: 'Not found' },
  interaction_not_found: {
    status: 404,
    title: 'This sign-in request has expired or is unknown: go back to the application',
  },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  request_timeout: { status: 408, title: 'The request did not arrive in time' },
  login_taken: { status: 409, title: 'This login is already taken' },
  email_taken: { status: 409, title: 'This email address is already in use' },
  passkey_registered: { status: 409, title: 'This passkey is registered already' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  validation_failed: { status: 422, title: 'The request is not valid' },
  password_policy: { status: 422, title: 'The password does not meet the password policy' },
  rate_limited: { status: 429, title: 'Too many requests' },
  headers_too_large: { status: 431, title: 'The request line or header fields are too large' },
  internal: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'The service is temporarily unavailable' },
  overloaded: { status: 503, title: 'The service is overloaded' },
} as const satisfies Record<string, { status: number; title: string }>

export type ErrorCode = keyof typeof catalogue

/**
 * Every code an entry of a 422's `errors` can carry: schema validation, the login-name rules and
 * the password policy all answer with these, and clients (the web page too) translate them.
 */
export const FIELD_CODES = [
  'required',
  'unknown_property',
  'invalid_type',
  'invalid_format',
  'invalid_value',
  'too_short',
  'too_long',
  'out_of_range',
  'invalid_characters',
  'common_password',
  'contains_login',
] as const

export type FieldCode = (typeof FIELD_CODES)[number]

export interface FieldError {
  field: string
  code: FieldCode
  message: string
  /** The bound a too_short, too_long or out_of_range value missed, for clients' own words. */
  limit?: number
}

export interface ProblemOptions {
  detail?: string
  errors?: FieldError[]
  headers?: Record<string, string>
  cause?: unknown
}

/** An error the client is meant to see, in the shape of the catalogue. */
export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly detail: string | undefined
  readonly errors: FieldError[] | undefined
  readonly headers: Record<string, string>

  constructor(code: ErrorCode, options: ProblemOptions = {}) {
    super(options.detail ?? catalogue[code].title, { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.status = catalogue[code].status
    this.detail = options.detail
    this.errors = options.errors
    this.headers = options.headers ?? {}
  }
}

/** A 422 naming one field's problem. */
export function invalidField(field: string, code: FieldCode, message: string): AppError {
  return new AppError('validation_failed', { errors: [{ field, code, message }] })
}

export interface Problem {
  type: string
  title: string
  status: number
  detail?: string
  code: ErrorCode
  errors?: FieldError[]
}

export function problemType(code: ErrorCode): string {
  return `/problems/${code}`
}

export function toProblem(error: AppError): Problem {
  const problem: Problem = {
    type: problemType(error.code),
    title: catalogue[error.code].title,
    status: error.status,
    code: error.code,
  }
  if (error.detail !== undefined) problem.detail = error.detail
  if (error.errors !== undefined) problem.errors = error.errors
  return problem
}
