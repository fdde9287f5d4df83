// NATS JetStream in tests: the shared server, a stream and subjects of the test's own, reading
// a stream as a consumer would, and private servers that a test stops and starts.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import type { TestContext } from 'node:test'
import { connect, type NatsConnection, NatsError, type StreamInfo } from 'nats'
import type { App } from '../../src/app.ts'
import type { Event, EventType } from '../../src/events/catalogue.ts'
import { eventually, PATIENCE_MS } from './eventually.ts'
import { tempDir } from './harness.ts'
import { freePort } from './ports.ts'

/** The machine's JetStream, shared by every test file: tests use streams of their own on it. */
export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222'

export interface TestNames {
  stream: string
  prefix: string
}

/** A stream name and a subject prefix no other test uses. */
export function uniqueNames(): TestNames {
  const tag = randomBytes(6).toString('hex')
  return { stream: `TEST_${tag.toUpperCase()}`, prefix: `test.${tag}` }
}

/** The service's environment for NATS at `url` with these names. */
export function natsEnv(url: string, names: TestNames): Record<string, string> {
  return { NATS_URL: url, NATS_STREAM: names.stream, NATS_SUBJECT_PREFIX: names.prefix }
}

/** Runs `use` on a connection of its own to `url`, closed after. */
export async function withNats<T>(url: string, use: (nc: NatsConnection) => Promise<T>) {
  const nc = await connect({ servers: url })
  try {
    return await use(nc)
  } finally {
    await nc.close()
  }
}

/** A stream on the shared server, deleted after the test (if it was ever made). */
export function sharedStream(t: TestContext): TestNames {
  const names = uniqueNames()
  t.after(() =>
    withNats(NATS_URL, async (nc) => {
      const jsm = await nc.jetstreamManager()
      await jsm.streams.delete(names.stream).catch((error: unknown) => {
        if (!(error instanceof NatsError && error.api_error?.err_code === 10059)) throw error
      })
    }),
  )
  return names
}

/** The stream's info, undefined while it does not exist or the server is away. */
export async function streamInfo(url: string, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await withNats(url, async (nc) => (await nc.jetstreamManager()).streams.info(stream))
  } catch {
    return undefined
  }
}

export interface Received {
  subject: string
  msgId: string | undefined
  body: Event
}

/**
 * What the stream holds, read from its start by an ordered consumer, once it holds `count`
 * messages (and, stored once each, never more).
 */
export async function readStream(
  url: string,
  stream: string,
  count: number,
  timeoutMs = PATIENCE_MS,
) {
  await eventually(() => streamInfo(url, stream), {
    what: `${count} messages in ${stream}`,
    until: (info) => (info?.state.messages ?? 0) >= count,
    timeoutMs,
  })
  return withNats(url, async (nc) => {
    const consumer = await nc.jetstream().consumers.get(stream)
    const received: Received[] = []
    const messages = await consumer.consume()
    for await (const m of messages) {
      received.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), body: m.json() })
      if (m.info.pending === 0) break
    }
    await messages.close()
    return received
  })
}

/** An event recorded as the domain code will: in a transaction of its own, here. */
export function recordEvent(app: App, type: EventType = 'user.registered'): Promise<Event> {
  return app.store.db
    .transaction()
    .execute((trx) => app.events.record(trx, { type, userId: randomUUID(), data: { login: 'x' } }))
}

/** A nats-server of the test's own, which it stops and starts; its port is free until started. */
export class PrivateNats {
  readonly port: number
  readonly dir: string
  #child: ChildProcess | undefined
  constructor(port: number, dir: string) {
    this.port = port
    this.dir = dir
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.dir]
    const child = spawn('/usr/sbin/nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nats-server not ready:\n${output}`)),
        PATIENCE_MS,
      )
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (!output.includes('Server is ready')) return
        clearTimeout(timer)
        child.off('exit', onExit)
        resolve()
      }
      const onExit = (code: number | null) => {
        clearTimeout(timer)
        reject(new Error(`nats-server on ${this.port} exited (${code}):\n${output}`))
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('exit', onExit)
    })
  }

  /** Its storage gone (a new server, or a lost disk): no streams any more. Only while stopped. */
  async wipe(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
    await mkdir(this.dir)
  }

  async stop(): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
}

/** A private nats-server (not started yet), stopped after the test. */
export async function privateNats(t: TestContext): Promise<PrivateNats> {
  const server = new PrivateNats(await freePort(), await tempDir(t))
  t.after(() => server.stop())
  return server
}
