import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import { connect, Events, type JetStreamClient, type NatsConnection } from 'nats'
import { ensureStream, type StreamSpec } from './stream.ts'

/** Between tries to connect or to set the stream up (nats.js reconnects on its own likewise). */
const RETRY_MS = 2000
const CONNECT_TIMEOUT_MS = 5000

export interface LinkOptions {
  url: string
  stream: StreamSpec
  log: FastifyBaseLogger
  /** Connected with the stream in place: publishing may start. */
  up(js: JetStreamClient): void
  /** Disconnected, or the stream is being checked again: publishing stops until `up`. */
  down(): void
}

export interface NatsLink {
  /** A publish found no stream: check (or create) it again before publishing on. */
  recheck(): void
  close(): Promise<void>
}

const causeOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * The connection to NATS, kept in the background for as long as the app runs: the first
 * connect is retried every 2 s (never blocking start-up), later losses are nats.js's reconnects
 * (for ever), and after each (re)connect the stream is checked, or created, before `up`.
 */
export function natsLink(options: LinkOptions): NatsLink {
  const { log, stream } = options
  const closing = new AbortController()
  let connection: NatsConnection | undefined
  let isUp = false
  // Bumped by every (re)connect, disconnect and recheck: an outdated stream setup gives up.
  let round = 0

  const pause = () => sleep(RETRY_MS, undefined, { signal: closing.signal }).catch(() => {})
  const current = (mine: number) => !closing.signal.aborted && mine === round

  function setDown(): void {
    round++
    if (!isUp) return
    isUp = false
    options.down()
  }

  async function prepare(conn: NatsConnection, mine: number): Promise<void> {
    for (let failures = 0; current(mine); failures++) {
      try {
        const { created, warnings } = await ensureStream(await conn.jetstreamManager(), stream)
        if (!current(mine)) return
        log.info({ stream: stream.name, created }, 'nats: stream in place; publishing')
        for (const warning of warnings) log.warn({ stream: stream.name }, `nats: ${warning}`)
        isUp = true
        options.up(conn.jetstream())
        return
      } catch (error) {
        // Once per outage, not every 2 s.
        if (failures === 0) {
          log.warn(
            { stream: stream.name, cause: causeOf(error) },
            'nats: stream not ready; will retry',
          )
        }
        await pause()
      }
    }
  }

  async function watch(conn: NatsConnection): Promise<void> {
    for await (const status of conn.status()) {
      if (status.type === Events.Disconnect) {
        setDown()
        log.warn('nats: disconnected; reconnecting')
      } else if (status.type === Events.Reconnect) {
        setDown()
        log.info('nats: reconnected')
        void prepare(conn, round)
      }
    }
  }

  async function run(): Promise<void> {
    for (let failures = 0; !closing.signal.aborted; ) {
      let conn: NatsConnection
      try {
        conn = await connect({
          servers: options.url,
          name: 'usersvc',
          timeout: CONNECT_TIMEOUT_MS,
          maxReconnectAttempts: -1,
          reconnectTimeWait: RETRY_MS,
        })
      } catch (error) {
        if (failures++ === 0)
          log.warn({ cause: causeOf(error) }, 'nats: cannot connect; will retry')
        await pause()
        continue
      }
      failures = 0
      if (closing.signal.aborted) {
        await conn.close()
        return
      }
      connection = conn
      log.info('nats: connected')
      watch(conn).catch(() => {})
      setDown()
      void prepare(conn, round)
      // Reconnecting for ever, it closes only when we close it, or on a fatal error (auth).
      const error = await conn.closed()
      setDown()
      connection = undefined
      if (closing.signal.aborted) return
      log.warn(
        { cause: error ? causeOf(error) : 'closed' },
        'nats: connection closed; connecting again',
      )
      await pause()
    }
  }

  void run()
  return {
    recheck() {
      if (!isUp || !connection) return
      setDown()
      void prepare(connection, round)
    },
    async close() {
      closing.abort()
      setDown()
      // A connect under way closes itself when it lands (see run).
      await connection?.close()
    },
  }
}
