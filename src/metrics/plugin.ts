import fp from 'fastify-plugin'
import { createMetrics, type Metrics } from './metrics.ts'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export default fp(
  async (app) => {
    const metrics = createMetrics()
    app.decorate('metrics', metrics)
    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, not the URL: ids must not explode the label space.
      const labels = {
        route: request.routeOptions.url ?? 'unmatched',
        method: request.method,
        status: String(reply.statusCode),
      }
      metrics.http.requests.inc(labels)
      metrics.http.duration.observe(labels, reply.elapsedTime / 1000)
    })
  },
  { name: 'metrics', dependencies: ['core'] },
)
