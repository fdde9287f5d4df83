// The container's HEALTHCHECK: is this instance ready (database reachable)? Exit 0 or 1.

import { request as plainRequest } from 'node:http'
import { request } from 'node:https'

const tls = process.env.TLS !== 'off'
const port = Number(process.env.PORT ?? (tls ? 8443 : 8080))
const options = {
  host: '127.0.0.1',
  port,
  path: '/health/ready',
  timeout: 2500,
  // Our own process over loopback: which certificate it presents is not what is being checked.
  rejectUnauthorized: false,
}
const req = (tls ? request : plainRequest)(options, (res) => {
  res.resume()
  process.exitCode = res.statusCode === 200 ? 0 : 1
})
req.on('timeout', () => req.destroy(new Error('timeout')))
req.on('error', () => {
  process.exitCode = 1
})
req.end()
