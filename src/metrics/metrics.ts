import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

export type LoginOutcome = 'success' | 'invalid' | 'throttled' | 'overloaded'
export type RegistrationOutcome = 'created' | 'taken' | 'invalid' | 'throttled' | 'overloaded'
export type RefreshOutcome = 'success' | 'invalid' | 'reuse'

/**
 * What the service measures; one registry per app, so tests can build several apps. Gauges that
 * read a component's state (hash queue, database pool) are added by that component's plugin.
 */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const seconds = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
  return {
    registry,
    http: {
      requests: new Counter({
        name: 'usersvc_http_requests_total',
        help: 'HTTP requests by route, method and status',
        labelNames: ['route', 'method', 'status'] as const,
        registers,
      }),
      duration: new Histogram({
        name: 'usersvc_http_request_duration_seconds',
        help: 'HTTP request duration by route, method and status',
        labelNames: ['route', 'method', 'status'] as const,
        buckets: seconds,
        registers,
      }),
    },
    hash: {
      duration: new Histogram({
        name: 'usersvc_password_hash_duration_seconds',
        help: 'argon2id work (hash or verify), queueing excluded',
        labelNames: ['operation'] as const,
        buckets: seconds,
        registers,
      }),
    },
    logins: new Counter({
      name: 'usersvc_logins_total',
      help: 'Login attempts by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    registrations: new Counter({
      name: 'usersvc_registrations_total',
      help: 'Registration attempts by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    refreshes: new Counter({
      name: 'usersvc_token_refreshes_total',
      help: 'Refresh attempts by outcome (reuse: a spent token presented again and its family revoked; also counted as invalid)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    db: {
      queryDuration: new Histogram({
        name: 'usersvc_db_query_duration_seconds',
        help: 'Database query duration',
        buckets: seconds,
        registers,
      }),
    },
  }
}

export type Metrics = ReturnType<typeof createMetrics>
