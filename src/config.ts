import Type, { type Static } from 'typebox'
import { Value } from 'typebox/value'
import type { ThrottleLimits } from './throttle/throttle.ts'

// The environment, as a schema: defaults, types and bounds in one place (.env.example mirrors it).
const Env = Type.Object({
  DATABASE_URL: Type.String({
    default: 'sqlite:./data/usersvc.db',
    pattern: '^(sqlite:|postgres(ql)?://)',
  }),
  DATABASE_POOL_SIZE: Type.Integer({ default: 10, minimum: 1, maximum: 1000 }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  // Default: 8443 with TLS, 8080 without.
  PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  TLS: Type.Enum(['on', 'off'], { default: 'on' }),
  TLS_DIR: Type.String({ default: './data/tls', minLength: 1 }),
  TLS_CERT_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TLS_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TLS_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TLS_SAN: Type.String({ default: '', pattern: '^[A-Za-z0-9.:*,\\- ]*$' }),
  TRUST_PROXY: Type.String({ default: '', pattern: '^[A-Za-z0-9.:/, ]*$' }),
  // Other origins whose pages may use the cookie session (the service's own always may).
  ALLOWED_ORIGINS: Type.String({ default: '', pattern: '^[A-Za-z0-9.:/, -]*$' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
  }),
  PASSWORD_MIN_LENGTH: Type.Integer({ default: 15, minimum: 8, maximum: 256 }),
  ARGON2_MEMORY_KIB: Type.Integer({ default: 19456, minimum: 8, maximum: 4194304 }),
  ARGON2_TIME_COST: Type.Integer({ default: 2, minimum: 1, maximum: 100 }),
  ARGON2_PARALLELISM: Type.Integer({ default: 1, minimum: 1, maximum: 16 }),
  HASH_CONCURRENCY: Type.Integer({ default: 0, minimum: 0, maximum: 1024 }),
  // The nice value of the thread pool that hashes (Linux): the event loop goes first.
  HASH_THREAD_NICE: Type.Integer({ default: 10, minimum: 0, maximum: 19 }),
  HASH_QUEUE_LIMIT: Type.Integer({ default: 256, minimum: 0, maximum: 100000 }),
  HASH_QUEUE_MAX_WAIT_MS: Type.Integer({ default: 250, minimum: 0, maximum: 60000 }),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ default: 900, minimum: 30, maximum: 86400 }),
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({ default: 2592000, minimum: 60, maximum: 31536000 }),
  TOKEN_ISSUER: Type.String({ default: 'usersvc', minLength: 1 }),
  TOKEN_AUDIENCE: Type.String({ default: 'usersvc', minLength: 1 }),
  KEY_CACHE_SECONDS: Type.Integer({ default: 30, minimum: 0, maximum: 3600 }),
  // Encrypts signing keys at rest; comma-separated to change it (the first seals, all open).
  SIGNING_KEY_SECRET: Type.String({ default: '' }),
  // Slow clients: the whole header must arrive within HEADERS, the whole request within REQUEST.
  HEADERS_TIMEOUT_SECONDS: Type.Integer({ default: 10, minimum: 1, maximum: 300 }),
  REQUEST_TIMEOUT_SECONDS: Type.Integer({ default: 30, minimum: 1, maximum: 600 }),
  KEEP_ALIVE_TIMEOUT_SECONDS: Type.Integer({ default: 72, minimum: 1, maximum: 600 }),
  // Prometheus metrics on their own listener; 0 turns them off.
  METRICS_HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  METRICS_PORT: Type.Integer({ default: 9464, minimum: 0, maximum: 65535 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_KEY_PREFIX: Type.String({ default: 'usersvc', pattern: '^[A-Za-z0-9_.:-]+$' }),
  THROTTLE: Type.Enum(['on', 'off'], { default: 'on' }),
  THROTTLE_LOGIN_PER_ADDRESS: Type.Integer({ default: 60, minimum: 1 }),
  THROTTLE_LOGIN_WINDOW_SECONDS: Type.Integer({ default: 60, minimum: 1 }),
  THROTTLE_REGISTER_PER_ADDRESS: Type.Integer({ default: 30, minimum: 1 }),
  THROTTLE_REGISTER_WINDOW_SECONDS: Type.Integer({ default: 600, minimum: 1 }),
  THROTTLE_BACKOFF_AFTER: Type.Integer({ default: 5, minimum: 1, maximum: 100 }),
  THROTTLE_ACCOUNT_BACKOFF_AFTER: Type.Integer({ default: 20, minimum: 1, maximum: 100 }),
  THROTTLE_BACKOFF_MAX_SECONDS: Type.Integer({ default: 900, minimum: 1, maximum: 86400 }),
  // NIST SP 800-63B §3.2.2: never more than 100 consecutive failed attempts on one account.
  THROTTLE_FAILURE_LIMIT: Type.Integer({ default: 100, minimum: 1, maximum: 100 }),
  THROTTLE_FAILURE_WINDOW_SECONDS: Type.Integer({ default: 86400, minimum: 60 }),
})
type Env = Static<typeof Env>

export interface TlsConfig {
  enabled: boolean
  /** Where the local CA and the generated certificates live. */
  dir: string
  certFile?: string
  keyFile?: string
  /** Intermediate certificates to send after the leaf. */
  caFile?: string
  /** Names and addresses the generated certificate covers, besides localhost, 127.0.0.1, ::1. */
  sans: string[]
}

export interface Config {
  databaseUrl: string
  databasePoolSize: number
  host: string
  port: number
  logLevel: string
  timeouts: { headersMs: number; requestMs: number; keepAliveMs: number }
  /** undefined when METRICS_PORT=0. */
  metrics?: { host: string; port: number }
  tls: TlsConfig
  /** Addresses or CIDRs of proxies whose X-Forwarded-* headers are believed (none by default). */
  trustProxy: string[]
  /** Origins (https://app.example) besides the service's own allowed to use cookie sessions. */
  allowedOrigins: string[]
  redis: { url?: string; keyPrefix: string }
  /** undefined when THROTTLE=off. */
  throttle?: ThrottleLimits
  passwords: {
    minLength: number
    argon2: { memoryCost: number; timeCost: number; parallelism: number }
    /** Hashes running at once; 0 means one per core (see passwords/hasher.ts). */
    concurrency: number
    /** Nice value for libuv's pool threads, where hashes run (0 leaves them alone). */
    threadNice: number
    /** Hashes waiting beyond that before requests are refused with 503. */
    queueLimit: number
    /** Also refused: a hash that would wait longer than this. */
    maxQueueWaitMs: number
  }
  tokens: {
    issuer: string
    audience: string
    accessTtlSeconds: number
    refreshTtlSeconds: number
    keyCacheSeconds: number
    /** SIGNING_KEY_SECRET: empty when private keys are stored unencrypted. */
    signingKeySecrets: string[]
  }
}

const MIN_SECRET_LENGTH = 32

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Reads the environment; a bad variable stops start-up with a message that names it. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, string> = {}
  for (const key of Object.keys(Env.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  // One message per variable. Integers must be plain digits: Value.Convert alone would read
  // "8080.5" as 8080 and "0x50" as 80.
  const problems = new Map<string, string>()
  for (const [key, schema] of Object.entries(Env.properties)) {
    const isInteger = (schema as { type?: string }).type === 'integer'
    if (isInteger && key in raw && !/^\d+$/.test(raw[key] ?? '')) {
      problems.set(key, 'must be a whole number written in digits')
    }
  }
  const value = Value.Default(Env, Value.Convert(Env, raw))
  for (const error of Value.Errors(Env, value)) {
    const name = error.instancePath.replace(/^\//, '') || 'environment'
    // The value itself is never echoed: DATABASE_URL may hold a password.
    const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues
    if (!problems.has(name))
      problems.set(name, allowed ? `must be one of ${allowed.join(', ')}` : error.message)
  }
  if (Boolean(raw.TLS_CERT_FILE) !== Boolean(raw.TLS_KEY_FILE)) {
    problems.set(
      raw.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE',
      'is needed with the other TLS_*_FILE',
    )
  }
  if (list(raw.SIGNING_KEY_SECRET ?? '').some((secret) => secret.length < MIN_SECRET_LENGTH)) {
    problems.set(
      'SIGNING_KEY_SECRET',
      `each secret must be at least ${MIN_SECRET_LENGTH} characters (openssl rand -base64 32)`,
    )
  }
  if (raw.TLS_CA_FILE && !raw.TLS_CERT_FILE)
    problems.set('TLS_CA_FILE', 'is only used with TLS_CERT_FILE')
  if (problems.size > 0) {
    const lines = [...problems].map(([name, message]) => `${name}: ${message}`)
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`)
  }
  return fromEnv(value as Env)
}

const list = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)

function fromEnv(env: Env): Config {
  const tls = env.TLS === 'on'
  return {
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    host: env.HOST,
    port: env.PORT ?? (tls ? 8443 : 8080),
    logLevel: env.LOG_LEVEL,
    timeouts: {
      headersMs: env.HEADERS_TIMEOUT_SECONDS * 1000,
      // Node requires the request timeout to be at least the headers timeout.
      requestMs: Math.max(env.REQUEST_TIMEOUT_SECONDS, env.HEADERS_TIMEOUT_SECONDS) * 1000,
      keepAliveMs: env.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    },
    metrics:
      env.METRICS_PORT === 0 ? undefined : { host: env.METRICS_HOST, port: env.METRICS_PORT },
    tls: {
      enabled: tls,
      dir: env.TLS_DIR,
      certFile: env.TLS_CERT_FILE,
      keyFile: env.TLS_KEY_FILE,
      caFile: env.TLS_CA_FILE,
      sans: list(env.TLS_SAN),
    },
    trustProxy: list(env.TRUST_PROXY),
    allowedOrigins: list(env.ALLOWED_ORIGINS),
    redis: { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX },
    throttle:
      env.THROTTLE === 'off'
        ? undefined
        : {
            loginPerAddress: {
              points: env.THROTTLE_LOGIN_PER_ADDRESS,
              seconds: env.THROTTLE_LOGIN_WINDOW_SECONDS,
            },
            registerPerAddress: {
              points: env.THROTTLE_REGISTER_PER_ADDRESS,
              seconds: env.THROTTLE_REGISTER_WINDOW_SECONDS,
            },
            backoffAfterPerAddress: env.THROTTLE_BACKOFF_AFTER,
            backoffAfterPerAccount: env.THROTTLE_ACCOUNT_BACKOFF_AFTER,
            backoffMaxSeconds: env.THROTTLE_BACKOFF_MAX_SECONDS,
            failureLimit: env.THROTTLE_FAILURE_LIMIT,
            failureWindowSeconds: env.THROTTLE_FAILURE_WINDOW_SECONDS,
          },
    passwords: {
      minLength: env.PASSWORD_MIN_LENGTH,
      argon2: {
        memoryCost: env.ARGON2_MEMORY_KIB,
        timeCost: env.ARGON2_TIME_COST,
        parallelism: env.ARGON2_PARALLELISM,
      },
      concurrency: env.HASH_CONCURRENCY,
      threadNice: env.HASH_THREAD_NICE,
      queueLimit: env.HASH_QUEUE_LIMIT,
      maxQueueWaitMs: env.HASH_QUEUE_MAX_WAIT_MS,
    },
    tokens: {
      issuer: env.TOKEN_ISSUER,
      audience: env.TOKEN_AUDIENCE,
      accessTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
      keyCacheSeconds: env.KEY_CACHE_SECONDS,
      signingKeySecrets: list(env.SIGNING_KEY_SECRET),
    },
  }
}
