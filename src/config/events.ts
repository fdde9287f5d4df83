import Type from 'typebox'
import type { EnvOf } from './env.ts'

// The audit trail, and where its events go besides: webhooks (webhooks/) and NATS JetStream.
export const env = {
  // How long the trail keeps an event; older ones are pruned by a background job.
  AUDIT_RETENTION_DAYS: Type.Integer({ default: 365, minimum: 1, maximum: 36500 }),
  // on: webhook URLs may be plain http on any host (otherwise https, or http on loopback only).
  WEBHOOK_ALLOW_HTTP: Type.Enum(['on', 'off'], { default: 'off' }),
  // Seconds between a webhook delivery's tries, comma-separated; jitter is added. After the
  // last, the delivery is given up on (failed; an admin may retry it).
  WEBHOOK_RETRY_SCHEDULE: Type.String({
    default: '5,300,1800,7200,18000,36000,50400,72000,86400',
    pattern: '^\\d+(\\.\\d+)?(,\\d+(\\.\\d+)?)*$',
  }),
  // nats://host:port: every event is also published to JetStream (stream USERSVC_EVENTS).
  NATS_URL: Type.Optional(Type.String({ minLength: 1 })),
  // The JetStream stream (created when missing) and the subjects' prefix: <prefix>.<type>. Set
  // them apart when several deployments share one NATS account (staging and production, say).
  NATS_STREAM: Type.String({ default: 'USERSVC_EVENTS', pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  NATS_SUBJECT_PREFIX: Type.String({
    default: 'usersvc.events',
    pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$',
    maxLength: 200,
  }),
}

export interface EventsConfig {
  auditRetentionDays: number
  webhooks: {
    allowHttp: boolean
    /** Milliseconds before each retry: the first after the first failure, and so on. */
    retryScheduleMs: number[]
  }
  /** undefined: no NATS. */
  natsUrl?: string
  /** The JetStream stream events go into, and the prefix of their subjects (<prefix>.<type>). */
  natsStream: string
  natsSubjectPrefix: string
}

export function read(e: EnvOf<typeof env>): EventsConfig {
  return {
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    webhooks: {
      allowHttp: e.WEBHOOK_ALLOW_HTTP === 'on',
      retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE.split(',').map((s) => Math.round(Number(s) * 1000)),
    },
    ...(e.NATS_URL ? { natsUrl: e.NATS_URL } : {}),
    natsStream: e.NATS_STREAM,
    natsSubjectPrefix: e.NATS_SUBJECT_PREFIX,
  }
}
