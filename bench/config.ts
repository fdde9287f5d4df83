// What a run measures and for how long: the full run (the figures we publish) and --quick.
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '..')
export const RESULTS = join(ROOT, 'bench', 'results')

/** The bound on an import: 1,000,000 pre-hashed records on SQLite in 2 minutes. */
export const IMPORT_GOAL = { records: 1_000_000, seconds: 120 }

/** The password of every seeded user and of every registration the benchmark makes. */
export const PASSWORD = 'benchmark password, long enough 42'
export const WRONG_PASSWORD = 'not the benchmark password at all 42'

export interface Mode {
  name: 'full' | 'quick'
  /** Seconds of load before measuring (results discarded). */
  warmup: number
  /** Seconds measured per scenario and connection count. */
  duration: number
  connections: number[]
  /** Users stored before the run, and the larger store of the scale comparison. */
  users: number
  largeUsers: number
  /** The connection count the scale comparison runs at. */
  scaleConnections: number
  /** Seconds of the raw argon2id and commit loops. */
  loopSeconds: number
  overloadSeconds: number
  /** Records in the import benchmark's file (bench/import.ts), and users per scheme logging in. */
  importRecords: number
  firstLoginUsers: number
}

export const FULL: Mode = {
  name: 'full',
  warmup: 3,
  duration: 15,
  connections: [1, 16, 128],
  users: 1_000,
  largeUsers: 1_000_000,
  scaleConnections: 16,
  loopSeconds: 8,
  overloadSeconds: 20,
  importRecords: 1_000_000,
  firstLoginUsers: 15,
}

export const QUICK: Mode = {
  name: 'quick',
  warmup: 0.5,
  duration: 1.5,
  connections: [16],
  users: 1_000,
  largeUsers: 100_000,
  scaleConnections: 16,
  loopSeconds: 1,
  overloadSeconds: 4,
  importRecords: 50_000,
  firstLoginUsers: 4,
}

/**
 * Brute-force throttling would measure the limiter, not the service: every request comes from
 * 127.0.0.1. Per-address limits are raised out of reach, and failures are forgotten after a
 * minute; login-fail spreads over every seeded account (a few failures per account per minute),
 * so per-account back-off (at 100 consecutive failures) never starts. Everything else is default.
 */
export const THROTTLE_ENV = {
  THROTTLE_LOGIN_PER_ADDRESS: '1000000000',
  THROTTLE_REGISTER_PER_ADDRESS: '1000000000',
  THROTTLE_BACKOFF_AFTER: '100',
  THROTTLE_ACCOUNT_BACKOFF_AFTER: '100',
  THROTTLE_FAILURE_WINDOW_SECONDS: '60',
}

export const SCENARIOS = [
  'register',
  'login',
  'login-fail',
  'refresh',
  'me',
  'jwks',
  'health',
] as const
export type Scenario = (typeof SCENARIOS)[number] | 'bare'

/** Scenarios whose cost is an argon2id hash (compared with the raw hash rate). */
export const HASHED: ReadonlySet<string> = new Set(['register', 'login', 'login-fail'])
