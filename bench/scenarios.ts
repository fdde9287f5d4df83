// What each scenario sends. Used inside the load process (bench/load.ts).
import type autocannon from 'autocannon'
import { PASSWORD, type Scenario, WRONG_PASSWORD } from './config.ts'

export interface ScenarioData {
  /** Seeded accounts user0 … user{users-1}, all with PASSWORD. */
  users: number
  /** Prefix that makes this process's registrations unique. */
  tag: string
  accessToken?: string
  /** Unspent refresh tokens, one chain per connection (and as many again for the warm-up). */
  refreshTokens?: string[]
}

/** The status a scenario expects: anything else is counted apart. */
export const EXPECTED: Record<Scenario, number> = {
  register: 201,
  login: 200,
  'login-fail': 401,
  refresh: 200,
  me: 200,
  jwks: 200,
  health: 200,
  bare: 200,
}

const json = { 'content-type': 'application/json' }
const anyUser = (users: number) => `user${Math.floor(Math.random() * users)}`

export function requestsFor(scenario: Scenario, data: ScenarioData): autocannon.Request[] {
  let registered = 0
  const post = (path: string, body: () => object): autocannon.Request => ({
    method: 'POST',
    path,
    headers: json,
    setupRequest: (request) => ({ ...request, body: JSON.stringify(body()) }),
  })
  switch (scenario) {
    case 'register':
      return [post('/user/', () => ({ login: `${data.tag}x${registered++}`, password: PASSWORD }))]
    case 'login':
      return [post('/session/', () => ({ login: anyUser(data.users), password: PASSWORD }))]
    case 'login-fail':
      // Spread over every account: per-account back-off is not what is measured.
      return [post('/session/', () => ({ login: anyUser(data.users), password: WRONG_PASSWORD }))]
    case 'refresh': {
      // Each refresh spends its token and returns the next one of the same family: the pool
      // holds every live token not in flight, so no token is ever presented twice.
      const pool = [...(data.refreshTokens ?? [])]
      return [
        {
          ...post('/session/refresh', () => ({ refresh_token: pool.pop() ?? 'pool-exhausted' })),
          onResponse(status, body) {
            if (status === 200)
              pool.push((JSON.parse(body) as { refresh_token: string }).refresh_token)
          },
        },
      ]
    }
    case 'me':
      return [
        {
          method: 'GET',
          path: '/user/me',
          headers: { authorization: `Bearer ${data.accessToken}` },
        },
      ]
    case 'jwks':
      return [{ method: 'GET', path: '/.well-known/jwks.json' }]
    case 'health':
    case 'bare':
      return [{ method: 'GET', path: '/health/live' }]
  }
}
