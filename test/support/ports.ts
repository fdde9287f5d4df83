// Free ports for servers that cannot take port 0 (nginx, a private Redis or PostgreSQL).
import { randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** Whether a server can listen on `port` of 127.0.0.1 right now. */
async function listenable(port: number): Promise<boolean> {
  const server = createServer()
  const ok = await new Promise<boolean>((done) => {
    server.once('error', () => done(false))
    server.listen(port, '127.0.0.1', () => done(true))
  })
  if (ok) await new Promise<void>((done) => server.close(() => done()))
  return ok
}

// Ports for servers that cannot take port 0 (nginx, a private Redis): picked below the kernel's
// range for port 0 and outgoing connections, so that another test file's listen(0) or connect()
// cannot take one between the check and the server's own listen.
const [EPHEMERAL_LOW = 32768] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
  .trim()
  .split(/\s+/)
  .map(Number)
const FIXED_LOW = 20000
const handedOut = new Set<number>()

/** `count` consecutive ports nothing listens on right now, never handed out before here. */
export async function freePorts(count: number): Promise<number> {
  for (;;) {
    const base = randomInt(FIXED_LOW, EPHEMERAL_LOW - count)
    const ports = Array.from({ length: count }, (_, i) => base + i)
    if (ports.some((port) => handedOut.has(port))) continue
    let all = true
    for (const port of ports) if (all) all = await listenable(port)
    if (!all) continue
    for (const port of ports) handedOut.add(port)
    return base
  }
}

/** A port nothing listens on right now (for servers that cannot take port 0, like nginx). */
export async function freePort(): Promise<number> {
  return freePorts(1)
}
