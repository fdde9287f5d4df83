// Reading the app's Prometheus registry as a scrape would.
import assert from 'node:assert/strict'
import type { Registry } from 'prom-client'

/** The value of one sample, e.g. `usersvc_mail_failed_total{outcome="retry"}`, at a scrape now. */
export async function sample(registry: Registry, name: string): Promise<number> {
  const text = await registry.metrics()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  assert.ok(
    line,
    `no sample ${name} in:\n${text
      .split('\n')
      .filter((l) => l.startsWith(name.split('{')[0] ?? ''))
      .join('\n')}`,
  )
  return Number(line.slice(name.length + 1))
}
