import { type JetStreamManager, NatsError, nanos, StorageType } from 'nats'

/**
 * How long JetStream remembers a Nats-Msg-Id. It must outlast the gap between a publish whose
 * ack was lost (or whose sender died before marking it sent) and its next try: the outbox lease
 * (15 s) plus a back-off step (at most 30 s), with room for a quick restart.
 */
export const DUPLICATE_WINDOW_MS = 5 * 60_000

const STREAM_NOT_FOUND = 10059

export interface StreamSpec {
  name: string
  /** What the stream captures: `<prefix>.>`. */
  subjects: string
}

/**
 * Creates the stream when missing. One that exists is reused as it is: its limits and replicas
 * are the operator's to choose. Two instances creating it at once both succeed (same config).
 */
export async function ensureStream(
  jsm: JetStreamManager,
  spec: StreamSpec,
): Promise<{ created: boolean; warnings: string[] }> {
  try {
    const { config } = await jsm.streams.info(spec.name)
    const warnings: string[] = []
    if (!config.subjects?.includes(spec.subjects)) {
      warnings.push(`the stream does not capture ${spec.subjects}: publishes will fail`)
    }
    if (config.duplicate_window < nanos(DUPLICATE_WINDOW_MS)) {
      warnings.push('its duplicate window is short: an event retried late may be stored twice')
    }
    return { created: false, warnings }
  } catch (error) {
    if (!(error instanceof NatsError) || error.api_error?.err_code !== STREAM_NOT_FOUND) throw error
  }
  await jsm.streams.add({
    name: spec.name,
    subjects: [spec.subjects],
    storage: StorageType.File,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  })
  return { created: true, warnings: [] }
}
