// Requests over real connections (undici, node:http2), read into the shape app.inject gives.
import type http2 from 'node:http2'
import type { Readable } from 'node:stream'
import type { LightMyRequestResponse } from 'fastify'
import { type Agent, request } from 'undici'

export interface Reply {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** undici's request: repeated response headers stay separate (an array), unlike fetch's Headers. */
export async function call(
  url: string,
  dispatcher: Agent,
  options: {
    method?: 'GET' | 'POST'
    headers?: Record<string, string>
    body?: string | Buffer | Readable
  } = {},
): Promise<Reply> {
  const res = await request(url, {
    dispatcher,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
  })
  return { statusCode: res.statusCode, headers: res.headers, body: await res.body.text() }
}

/** fetch options for a POST of `body` as JSON. */
export function jsonPost(body: unknown) {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }
}

export function postJson(url: string, dispatcher: Agent, body: unknown, headers = {}) {
  return call(url, dispatcher, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

/** One request on an HTTP/2 session; the body, if any, is sent whole. */
export function http2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
): Promise<Reply> {
  return new Promise((done, fail) => {
    const stream = session.request(headers, { endStream: body === undefined })
    let responseHeaders: http2.IncomingHttpHeaders = {}
    let text = ''
    stream.on('response', (h) => {
      responseHeaders = h
    })
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk
    })
    stream.on('end', () =>
      done({
        statusCode: Number(responseHeaders[':status']),
        headers: responseHeaders,
        body: text,
      }),
    )
    stream.on('error', fail)
    if (body !== undefined) stream.end(body)
  })
}

/**
 * What a client could tell two answers apart by: status, headers and body bytes, but for Date and
 * X-Request-Id, which differ between any two answers.
 */
export function comparable(res: LightMyRequestResponse) {
  const { date: _date, 'x-request-id': _id, ...headers } = res.headers
  return { status: res.statusCode, headers, body: res.rawPayload.toString('base64') }
}
