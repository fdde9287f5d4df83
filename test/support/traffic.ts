// Ordinary traffic (health, register, log in) served while slow clients are held.
import assert from 'node:assert/strict'
import type * as http2 from 'node:http2'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Dispatcher, request } from 'undici'
import { http2Request } from './http.ts'
import type { Server } from './processes.ts'
import { PASSWORD } from './requests.ts'
import type { Slow } from './slow-clients.ts'

export interface Normal {
  /** One round of ordinary traffic: health, a registration, a login. */
  round(i: number): Promise<void>
}

type Call = (
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
) => Promise<{ statusCode: number; body: string }>

/** One round: health, a registration, a login, each answered as it should be. */
function rounds(call: Call, prefix: string): Normal {
  return {
    async round(i) {
      const live = await call('GET', '/health/live')
      assert.equal(live.statusCode, 200, live.body)
      const login = `${prefix}${i}`
      const created = await call('POST', '/user/', { login, password: PASSWORD })
      assert.equal(created.statusCode, 201, created.body)
      const session = await call('POST', '/session/', { login, password: PASSWORD })
      assert.equal(session.statusCode, 200, session.body)
    },
  }
}

/** Rounds over HTTP/1.1 or HTTP/2, as `dispatcher` speaks. */
export function normalTraffic(server: Server, dispatcher: Dispatcher, prefix: string): Normal {
  return rounds(async (method, path, body) => {
    const res = await request(`${server.base}${path}`, {
      method,
      dispatcher,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    })
    return { statusCode: res.statusCode, body: await res.body.text() }
  }, prefix)
}

/** The same rounds on an HTTP/2 session of node:http2. */
export function http2Traffic(session: http2.ClientHttp2Session, prefix: string): Normal {
  return rounds(
    (method, path, body) =>
      http2Request(
        session,
        {
          ':method': method,
          ':path': path,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      ),
    prefix,
  )
}

/**
 * Ordinary traffic, round after round, while the slow clients are held: the first round must
 * complete while every one of them is still connected. Stops when they are all gone or the bound
 * has passed.
 */
export async function serveMeanwhile(slow: Slow[], traffic: Normal[], boundMs: number) {
  await Promise.all(traffic.map((n) => n.round(0)))
  const openAtFirstRound = slow.filter((s) => s.isOpen()).length
  assert.equal(openAtFirstRound, slow.length, 'ordinary requests were served while all were held')
  const done = Promise.all(slow.map((s) => s.closed)).then(() => true)
  let stop = false
  void done.then(() => {
    stop = true
  })
  const bound = sleep(boundMs).then(() => {
    stop = true
  })
  let i = 1
  while (!stop) {
    await Promise.all(traffic.map((n) => n.round(i)))
    i++
    await Promise.race([sleep(250), done, bound])
  }
  return i
}
