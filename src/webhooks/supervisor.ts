import type { FastifyBaseLogger } from 'fastify'

export interface SupervisorOptions {
  /** The endpoints that should have a sender now. */
  list(): Promise<string[]>
  start(id: string): void
  stop(id: string): Promise<void>
  log: FastifyBaseLogger
  pollMs?: number
}

/**
 * Keeps one sender per enabled endpoint on this instance: endpoints added, removed or disabled
 * on another instance are noticed by polling the table; on this one, at once (start, stop).
 */
export function createSupervisor(options: SupervisorOptions) {
  const pollMs = options.pollMs ?? 1000
  const running = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  let syncing: Promise<void> | undefined
  let closed = false

  function start(id: string): void {
    if (closed || running.has(id)) return
    running.add(id)
    options.start(id)
  }

  function stop(id: string): Promise<void> {
    if (!running.delete(id)) return Promise.resolve()
    return options.stop(id).catch((error: unknown) => {
      options.log.warn({ err: error, webhook: id }, 'webhooks: stopping a sender failed')
    })
  }

  async function sync(): Promise<void> {
    const wanted = new Set(await options.list())
    if (closed) return
    for (const id of wanted) start(id)
    for (const id of [...running]) if (!wanted.has(id)) void stop(id)
  }

  function tick(): void {
    syncing = sync()
      .catch((error: unknown) => {
        // The store may be away: the next poll looks again.
        options.log.warn({ err: error }, 'webhooks: reading the endpoints failed')
      })
      .finally(() => {
        syncing = undefined
        if (!closed) timer = setTimeout(tick, pollMs).unref()
      })
  }

  return {
    start,
    /** Not awaited by callers that are themselves a sender's delivery (it waits for them). */
    stop,
    /** Starts polling (once the app is ready). */
    run: tick,
    /** Stops polling and every sender it started. */
    async close(): Promise<void> {
      closed = true
      clearTimeout(timer)
      await syncing
      await Promise.all([...running].map((id) => stop(id)))
    },
  }
}
