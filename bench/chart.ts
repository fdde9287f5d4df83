// latest.svg: throughput and p99 per scenario, and latency and memory over time during the
// overload, as Vega-Lite specifications rendered to SVG by Vega (no browser, no canvas).
import { parse, View } from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import type { Results } from './types.ts'

type Row = Record<string, string | number>

function scenarioRows(results: Results): Row[] {
  const several = results.stores.length > 1
  const rows: Row[] = results.references.bare.map((run) => ({
    scenario: 'bare Fastify (ref)',
    connections: run.connections,
    rps: run.rps,
    p99: run.latency.p99,
  }))
  for (const store of results.stores) {
    for (const run of store.runs) {
      rows.push({
        scenario: several ? `${run.scenario} (${store.kind})` : run.scenario,
        connections: run.connections,
        rps: run.rps,
        p99: run.latency.p99,
      })
    }
  }
  return rows
}

function overloadRows(results: Results): Row[] {
  const o = results.overload
  if (!o) return []
  const rows: Row[] = []
  for (const point of o.login.series) {
    if (point.p99 <= 0) continue
    rows.push({ t: point.t, series: 'admitted logins p50', ms: point.p50 })
    rows.push({ t: point.t, series: 'admitted logins p99', ms: point.p99 })
  }
  for (const [name, run] of [
    ['/health/live p99', o.health],
    ['/user/me p99', o.me],
  ] as const) {
    for (const point of run.series)
      if (point.p99 > 0) rows.push({ t: point.t, series: name, ms: point.p99 })
  }
  // The service's own view: how late its event loop ran (worst in each second).
  for (const point of o.eventLoop) {
    if (point.maxMs > 0) rows.push({ t: point.t, series: 'event-loop delay max', ms: point.maxMs })
  }
  return rows
}

const bars = (field: 'rps' | 'p99', title: string, rows: Row[]) => ({
  title,
  width: 420,
  height: 220,
  data: { values: rows },
  mark: { type: 'bar' as const, tooltip: true },
  encoding: {
    x: { field: 'scenario', type: 'nominal' as const, title: null, axis: { labelAngle: -35 } },
    xOffset: { field: 'connections', type: 'ordinal' as const },
    y: {
      field,
      type: 'quantitative' as const,
      // Unstacked: a log scale has no zero to stack from.
      stack: null,
      scale: { type: 'log' as const },
      title: field === 'rps' ? 'requests/s (log)' : 'p99 ms (log)',
    },
    color: { field: 'connections', type: 'ordinal' as const, title: 'connections' },
  },
})

export async function chart(results: Results): Promise<string> {
  const scenarios = scenarioRows(results)
  const charts: object[] = [
    {
      hconcat: [
        bars('rps', 'Throughput per scenario', scenarios),
        bars('p99', 'p99 latency per scenario', scenarios),
      ],
    },
  ]
  const o = results.overload
  if (o) {
    charts.push({
      hconcat: [
        {
          title: `Latency during logins at 4x capacity (${results.mode.overloadSeconds} s)`,
          width: 420,
          height: 220,
          data: { values: overloadRows(results) },
          mark: { type: 'line' as const, point: true },
          encoding: {
            x: { field: 't', type: 'quantitative' as const, title: 'second' },
            y: {
              field: 'ms',
              type: 'quantitative' as const,
              scale: { type: 'log' as const },
              title: 'ms (log)',
            },
            color: { field: 'series', type: 'nominal' as const, title: null },
          },
        },
        {
          title: 'Service RSS during the overload',
          width: 420,
          height: 220,
          data: { values: o.rss.samples },
          mark: { type: 'line' as const },
          encoding: {
            x: { field: 't', type: 'quantitative' as const, title: 'second' },
            y: { field: 'mib', type: 'quantitative' as const, title: 'MiB', scale: { zero: true } },
          },
        },
      ],
    })
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `usersvc benchmark (${results.mode.name}), ${results.machine.date.slice(0, 10)}`,
    config: { font: 'sans-serif', legend: { labelLimit: 320 } },
    resolve: { scale: { color: 'independent' } },
    vconcat: charts,
  } as TopLevelSpec
  const view = new View(parse(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
