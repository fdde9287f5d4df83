import { serve } from '../main.ts'
import type { Command } from './command.ts'

export const serveCommand: Command = {
  usage: `usage: usersvc serve

Serves the API on HOST:PORT, migrating the database first: HTTPS on 127.0.0.1:8443 by default
(HTTP/2 and HTTP/1.1), with a certificate from the local CA under TLS_DIR unless TLS_CERT_FILE and
TLS_KEY_FILE are given; TLS=off serves plain HTTP on 8080. SIGHUP reloads the certificate files.
Prometheus metrics listen on METRICS_HOST:METRICS_PORT (127.0.0.1:9464; 0 turns them off).`,
  async run(_input, config) {
    await serve(config)
    return -1 // keep running
  },
}
