import Type from 'typebox'
import { Value } from 'typebox/value'
import * as database from './database.ts'
import type { EnvOf } from './env.ts'
import * as events from './events.ts'
import * as mail from './mail.ts'
import * as metrics from './metrics.ts'
import * as passwords from './passwords.ts'
import * as recovery from './recovery.ts'
import * as redis from './redis.ts'
import * as server from './server.ts'
import * as throttle from './throttle.ts'
import * as tls from './tls.ts'
import * as tokens from './tokens.ts'
import * as webauthn from './webauthn.ts'

export type { ThrottleLimits } from './throttle.ts'
export type { TlsConfig } from './tls.ts'

// The environment, as a schema: one section per concern, each with its defaults, types and
// bounds (.env.example mirrors them).
const sections = [
  database,
  server,
  tls,
  metrics,
  passwords,
  tokens,
  redis,
  throttle,
  mail,
  recovery,
  webauthn,
  events,
] as const
const Env = Type.Object({
  ...database.env,
  ...server.env,
  ...tls.env,
  ...metrics.env,
  ...passwords.env,
  ...tokens.env,
  ...redis.env,
  ...throttle.env,
  ...mail.env,
  ...recovery.env,
  ...webauthn.env,
  ...events.env,
})
type Env = EnvOf<typeof Env.properties>

/** Every variable the service reads. */
export const ENV_NAMES: readonly string[] = Object.keys(Env.properties)

export interface Config extends database.DatabaseConfig, server.ServerConfig {
  metrics: metrics.MetricsConfig
  tls: tls.TlsConfig
  redis: redis.RedisConfig
  /** undefined when THROTTLE=off. */
  throttle?: throttle.ThrottleLimits
  passwords: passwords.PasswordsConfig
  tokens: tokens.TokensConfig
  mail: mail.MailConfig
  recovery: recovery.RecoveryConfig
  webauthn: webauthn.WebauthnConfig
  events: events.EventsConfig
}

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
  const value = Value.Default(Env, Value.Convert(Env, raw)) as Env
  for (const error of Value.Errors(Env, value)) {
    const name = error.instancePath.replace(/^\//, '') || 'environment'
    // The value itself is never echoed: DATABASE_URL may hold a password.
    const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues
    if (!problems.has(name))
      problems.set(name, allowed ? `must be one of ${allowed.join(', ')}` : error.message)
  }
  for (const section of sections) {
    if (!('check' in section)) continue
    for (const [name, message] of section.check(raw)) problems.set(name, message)
  }
  if (problems.size > 0) {
    const lines = [...problems].map(([name, message]) => `${name}: ${message}`)
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`)
  }
  const tlsConfig = tls.read(value)
  const serverConfig = server.read(value, tlsConfig.enabled)
  const ownUrl = server.ownUrl(serverConfig.host, serverConfig.port, tlsConfig.enabled)
  const mailConfig = mail.read(value, ownUrl)
  return {
    ...database.read(value),
    ...serverConfig,
    metrics: metrics.read(value),
    tls: tlsConfig,
    redis: redis.read(value),
    throttle: throttle.read(value),
    passwords: passwords.read(value),
    tokens: tokens.read(value),
    mail: mailConfig,
    recovery: recovery.read(value),
    webauthn: webauthn.read(value, mailConfig.publicUrl, ownUrl),
    events: events.read(value),
  }
}
