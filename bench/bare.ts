// Reference (b): a bare Fastify answering a constant JSON over the service's TLS setup (same
// certificate, the policy of src/tls/policy.ts, HTTP/2 with HTTP/1.1 by ALPN). No logging,
// hooks or plugins: the ceiling for the cheap endpoints.
// node bench/bare.ts CERT KEY → prints "listening PORT" on stdout.
import { readFileSync } from 'node:fs'
import Fastify, { type FastifyServerOptions } from 'fastify'
import { tlsPolicy } from '../src/tls/policy.ts'

const [certFile, keyFile] = process.argv.slice(2) as [string, string]
const app = Fastify({
  logger: false,
  http2: true,
  https: {
    allowHTTP1: true,
    ...tlsPolicy,
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
  },
} as FastifyServerOptions)
app.get('/health/live', async () => ({ status: 'ok' }))
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`)
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
