import Type from 'typebox'
import type { EnvOf } from './env.ts'

// Prometheus metrics on their own listener; 0 turns them off.
export const env = {
  METRICS_HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  METRICS_PORT: Type.Integer({ default: 9464, minimum: 0, maximum: 65535 }),
}

/** undefined when METRICS_PORT=0. */
export type MetricsConfig = { host: string; port: number } | undefined

export function read(e: EnvOf<typeof env>): MetricsConfig {
  return e.METRICS_PORT === 0 ? undefined : { host: e.METRICS_HOST, port: e.METRICS_PORT }
}
