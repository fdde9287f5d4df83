import type { Server } from 'node:http'
import { relative } from 'node:path'
import type { SecureContextOptions } from 'node:tls'
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { type App, buildApp } from './app.ts'
import type { Config } from './config/index.ts'
import { ownUrl } from './config/server.ts'
import { mailDestination } from './mail/destination.ts'
import { startMetricsServer } from './metrics/server.ts'
import { lowerThreadPoolPriority } from './passwords/priority.ts'
import { loadTlsCredentials, type TlsCredentials } from './tls/credentials.ts'
import { tlsPolicy } from './tls/policy.ts'

const RENEW_CHECK_MS = 12 * 60 * 60 * 1000

interface SecureServer {
  setSecureContext(options: SecureContextOptions): void
}

/**
 * Swaps the certificate in place: connections already open keep theirs, new handshakes get the
 * new one. Used on SIGHUP (files replaced by an operator or certbot) and when a local
 * certificate is renewed.
 */
async function reloadTls(app: App, config: Config, reason: string): Promise<void> {
  try {
    const credentials = await loadTlsCredentials(config.tls)
    ;(app.server as unknown as SecureServer).setSecureContext({
      ...tlsPolicy,
      key: credentials.key,
      cert: credentials.cert,
    })
    app.log.info({ reason, notAfter: credentials.notAfter.toISOString() }, 'TLS certificate loaded')
  } catch (error) {
    // Keep serving with the certificate we have rather than stop.
    app.log.error({ err: error, reason }, 'TLS certificate reload failed; keeping the current one')
  }
}

function banner(
  config: Config,
  port: number,
  tls: TlsCredentials | undefined,
  metrics: string,
): string {
  const base = ownUrl(config.host, port, tls !== undefined)
  const lines = [`usersvc is listening on ${base}${tls ? ' (HTTP/2 and HTTP/1.1)' : ''}`]
  lines.push(`  database: ${config.databaseUrl.replace(/\/\/[^@/]*@/, '//***@')}`)
  lines.push(`  mail:     ${mailDestination(config.mail)}`)
  lines.push(`  metrics:  ${metrics}`)
  const { natsUrl, natsStream, natsSubjectPrefix } = config.events
  if (natsUrl) {
    const url = natsUrl.replace(/\/\/[^@/]*@/, '//***@')
    lines.push(`  nats:     ${url}, stream ${natsStream}, subjects ${natsSubjectPrefix}.<type>`)
  }
  if (tls?.local) {
    const ca = relative(process.cwd(), tls.local.caPath) || tls.local.caPath
    lines.push(`  local CA: ${ca}`, `  SHA-256:  ${tls.local.fingerprint}`)
    lines.push(`  try:      curl --cacert ${ca} ${base}/health/live`)
  } else {
    lines.push(`  try:      curl ${base}/health/live`)
  }
  return `\n${lines.join('\n')}\n\n`
}

/** Builds the app and serves it until SIGTERM/SIGINT, then drains in-flight requests and closes. */
export async function serve(config: Config): Promise<void> {
  const credentials = config.tls.enabled ? await loadTlsCredentials(config.tls) : undefined
  // Log lines are written without blocking the event loop; flushed when the service stops.
  const logStream = pino.destination({ dest: 1, sync: false })
  const app = buildApp({ config, tls: credentials, logStream })

  if (!credentials) {
    // Nothing to reload without TLS; a stray SIGHUP (a closed terminal) must not stop the service.
    process.on('SIGHUP', () => app.log.info('SIGHUP: nothing to reload (TLS is off)'))
  } else {
    process.on('SIGHUP', () => void reloadTls(app, config, 'SIGHUP'))
    if (credentials.local) {
      // A long-running development server renews its local certificate before it expires.
      const timer = setInterval(
        () => void reloadTls(app, config, 'renewal check'),
        RENEW_CHECK_MS,
      ).unref()
      app.addHook('onClose', async () => clearInterval(timer))
    }
  }

  let metricsServer: Server | undefined
  app.addHook('onClose', async () => {
    await new Promise<void>((done) => (metricsServer ? metricsServer.close(() => done()) : done()))
  })
  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (error) {
    // Start-up failed (database, port…): close what did open, and let the CLI exit non-zero.
    await app.close().catch(() => {})
    logStream.flushSync()
    throw error
  }
  // The pool exists by now (the hasher made its dummy hash while the app got ready).
  const nice = config.passwords.threadNice
  app.log.info({ threads: lowerThreadPoolPriority(nice), nice }, 'thread pool priority lowered')
  // From here on, signals drain and close instead of killing.
  closeWithGrace({ delay: 10_000, logger: false, skip: ['SIGHUP'] }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an uncaught error')
    else app.log.info({ signal }, 'closing: no new connections; finishing requests in flight')
    // Fastify's close stops listening, waits for in-flight requests, then runs onClose hooks
    // (which close the database).
    await app.close()
    logStream.flushSync()
  })
  let metrics = 'off (METRICS_PORT=0)'
  if (config.metrics) {
    const { host, port } = config.metrics
    try {
      metricsServer = await startMetricsServer(app.metrics.registry, host, port)
      metrics = `http://${host}:${port}/metrics`
      app.log.info({ url: metrics }, 'metrics listening')
    } catch (error) {
      // Metrics are for operators; a taken port must not take the service down with it. Said
      // plainly, here and in the banner: a second instance on one machine meets this first.
      const code = (error as NodeJS.ErrnoException).code
      const why = code === 'EADDRINUSE' ? `${host}:${port} is in use` : `${host}:${port}: ${code}`
      metrics = `off: ${why} (another instance?); set METRICS_PORT, or 0 to turn them off`
      app.log.warn({ host, port, code }, 'metrics listener could not start; serving without it')
    }
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  // For the person at the terminal; the JSON log on stdout is for machines.
  process.stderr.write(banner(config, port, credentials, metrics))
}
