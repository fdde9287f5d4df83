import { Counter, Gauge, type Registry } from 'prom-client'
import type { ChannelStats } from './repository.ts'
import type { Outcome } from './worker.ts'

export interface ChannelMetricsOptions {
  registry: Registry
  /** e.g. usersvc_mail: usersvc_mail_sent_total, usersvc_mail_failed_total{outcome}, … */
  prefix: string
  /** What the channel carries, for the help texts: "Mails". */
  noun: string
  stats(): Promise<ChannelStats>
  now(): Date
}

/**
 * One channel's metrics: counters of what this instance's sender did, and gauges of what waits
 * in the outbox, read from the database at scrape time (so every instance on one database reports
 * the same queue). Returns the worker's onOutcome.
 */
export function channelMetrics(options: ChannelMetricsOptions): (outcome: Outcome) => void {
  const { registry, prefix, noun } = options
  const registers = [registry]
  const sent = new Counter({
    name: `${prefix}_sent_total`,
    help: `${noun} delivered by this instance`,
    registers,
  })
  const failed = new Counter({
    name: `${prefix}_failed_total`,
    help: `${noun} that failed a delivery, by outcome: retry (tried again later) or dropped (refused for good, or failing for the whole retry window)`,
    labelNames: ['outcome'] as const,
    registers,
  })
  // Both series exist from the start, so a rate() over them works before the first failure.
  failed.inc({ outcome: 'retry' }, 0)
  failed.inc({ outcome: 'dropped' }, 0)

  // One query per scrape for both gauges (prom-client collects them at once). With the database
  // away they keep their last values; /health/ready says the database is down.
  let reading: Promise<ChannelStats | undefined> | undefined
  const read = () => {
    reading ??= options
      .stats()
      .catch(() => undefined)
      .finally(() => {
        reading = undefined
      })
    return reading
  }
  new Gauge({
    name: `${prefix}_queued`,
    help: `${noun} in the outbox not yet delivered (all instances)`,
    registers,
    async collect() {
      const stats = await read()
      if (stats) this.set(stats.waiting)
    },
  })
  new Gauge({
    name: `${prefix}_oldest_queued_age_seconds`,
    help: `Age of the oldest ${noun.toLowerCase()} not yet delivered, 0 when none waits (all instances)`,
    registers,
    async collect() {
      const stats = await read()
      if (!stats) return
      const age = stats.oldest ? (options.now().getTime() - stats.oldest.getTime()) / 1000 : 0
      this.set(Math.max(0, age))
    },
  })

  return (outcome) => {
    if (outcome === 'sent') sent.inc()
    else failed.inc({ outcome })
  }
}
