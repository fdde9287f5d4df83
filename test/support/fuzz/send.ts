// Requests of the property-based tests: injected with a hang detector, and shown in messages.
import type { Readable } from 'node:stream'
import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../../src/app.ts'

/** Longer than this, an answer counts as a hang. */
const HANG_MS = 10_000

export interface Req {
  method: string
  url: string
  headers?: Record<string, string>
  payload?: string | Buffer | Readable
}

/** app.inject, failing (instead of waiting for the test runner's timeout) when it hangs. */
export async function send(app: App, req: Req): Promise<LightMyRequestResponse> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${HANG_MS} ms: ${show(req)}`)),
      HANG_MS,
    )
  })
  try {
    return await Promise.race([
      app.inject({
        method: req.method as 'GET',
        url: req.url,
        headers: req.headers ?? {},
        ...(req.payload === undefined ? {} : { payload: req.payload }),
      }),
      hang,
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** A short, printable description of a request for assertion messages. */
export function show(req: Req): string {
  const payload =
    req.payload === undefined
      ? ''
      : typeof req.payload === 'string' || Buffer.isBuffer(req.payload)
        ? ` body(${Buffer.byteLength(req.payload)} bytes)=${JSON.stringify(Buffer.from(req.payload).toString('latin1').slice(0, 300))}`
        : ' body=<stream>'
  return `${req.method} ${JSON.stringify(req.url.slice(0, 300))} headers=${JSON.stringify(req.headers ?? {}).slice(0, 400)}${payload}`
}
