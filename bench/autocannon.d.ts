// The part of autocannon 9's API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  namespace autocannon {
    interface Request {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string
      /** Called before each request; returns the request to send. */
      setupRequest?: (request: Request, context: Record<string, unknown>) => Request
      onResponse?: (status: number, body: string, context: Record<string, unknown>) => void
    }
    interface Options {
      url: string
      connections?: number
      duration?: number
      /** Milliseconds between samples; a run ends on a sample, so this is its granularity. */
      sampleInt?: number
      /** Seconds before a request times out. */
      timeout?: number
      /** Requests per second per connection. */
      connectionRate?: number
      ignoreCoordinatedOmission?: boolean
      requests?: Request[]
    }
    interface Result {
      errors: number
      timeouts: number
    }
    interface Instance extends EventEmitter, PromiseLike<Result> {}
  }
  function autocannon(options: autocannon.Options): autocannon.Instance
  export = autocannon
}
