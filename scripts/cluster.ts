// npm run cluster: several identical usersvc instances on PostgreSQL and Redis, with nginx in
// front load-balancing over HTTPS (the proxy of npm run proxy). For local trials of the
// scale-out deployment; compose.yaml is the production-like version of the same picture.
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { loadConfig } from '../src/config/index.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { openStore } from '../src/db/store.ts'
import { loadTlsCredentials } from '../src/tls/credentials.ts'
import { stopChild, waitForOutput } from './child.ts'
import { prepareProxy, proxyOptionsFromEnv, runProxy } from './proxy.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export interface ClusterOptions {
  size: number
  basePort: number
  databaseUrl: string
  redisUrl: string
  /** Logs, certificates and nginx's files go below this folder. */
  dataDir: string
  proxyHttpsPort: number
  proxyHttpPort: number
  /** Instance i serves Prometheus metrics on metricsBasePort + i (0: none). */
  metricsBasePort: number
  /** More environment for the instances (e.g. fast hashing in tests). */
  env?: Record<string, string>
}

export interface Instance {
  port: number
  base: string
  child: ChildProcess
  logFile: string
}

export interface Cluster {
  instances: Instance[]
  proxyBase: string
  caPath: string
  stop(): Promise<void>
}

export function clusterOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterOptions {
  return {
    size: Number(env.CLUSTER_SIZE ?? 2),
    basePort: Number(env.CLUSTER_BASE_PORT ?? 8501),
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/usersvc',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    dataDir: resolve(env.CLUSTER_DIR ?? join(ROOT, 'data')),
    proxyHttpsPort: Number(env.PROXY_HTTPS_PORT ?? 9443),
    proxyHttpPort: Number(env.PROXY_HTTP_PORT ?? 9080),
    metricsBasePort: Number(env.CLUSTER_METRICS_BASE_PORT ?? 9464),
  }
}

/** Creates the database named in the URL if the server does not have it yet. */
export async function ensureDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  try {
    await client.connect()
    return
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error // 3D000: no such database
  } finally {
    await client.end().catch(() => {})
  }
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.slice(1))
  target.pathname = '/postgres'
  const admin = new pg.Client({ connectionString: target.toString() })
  await admin.connect()
  try {
    await admin.query(`create database ${pg.escapeIdentifier(name)}`)
  } finally {
    await admin.end()
  }
}

/** Resolves once something accepts connections on the port; rejects if `child` exits first. */
async function waitForPort(port: number, child: ChildProcess, errorLog: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) break
    const open = await new Promise<boolean>((resolveOpen) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.end()
        resolveOpen(true)
      })
      socket.once('error', () => resolveOpen(false))
    })
    if (open) return
    await new Promise((wait) => setTimeout(wait, 100))
  }
  const log = await readFile(errorLog, 'utf8').catch(() => '')
  throw new Error(
    `nginx did not start listening on ${port}\n${log.split('\n').slice(-5).join('\n')}`,
  )
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const tlsDir = join(options.dataDir, 'tls')
  const logDir = join(options.dataDir, 'cluster')
  await mkdir(logDir, { recursive: true, mode: 0o700 })
  await ensureDatabase(options.databaseUrl)
  const env = {
    ...process.env,
    ...options.env,
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    TLS_DIR: tlsDir,
    // The instances believe X-Forwarded-For from nginx on this host, and from nobody else.
    TRUST_PROXY: '127.0.0.1',
  }
  // Once, before any instance: migrations and the certificate they all ask for (TLS_SAN
  // included), so that none of them re-issues it.
  const config = loadConfig(env)
  const store = openStore(config.databaseUrl, { poolSize: 2 })
  try {
    await migrateToLatest(store)
  } finally {
    await store.destroy()
  }
  await loadTlsCredentials(config.tls)

  const instances: Instance[] = []
  let nginx: ChildProcess | undefined
  const stop = async () => {
    // nginx first (SIGQUIT: graceful, as nginx -s quit, with or without its pid file yet), so it
    // lets go of its upstream connections before the instances close.
    if (nginx) await stopChild(nginx, 'SIGQUIT')
    await Promise.all(instances.map(({ child }) => stopChild(child)))
  }
  try {
    for (let i = 0; i < options.size; i++) {
      const port = options.basePort + i
      const logFile = join(logDir, `usersvc-${i + 1}.log`)
      const child = spawn(process.execPath, ['src/cli.ts', 'serve'], {
        cwd: ROOT,
        env: {
          ...env,
          PORT: String(port),
          HOST: '127.0.0.1',
          METRICS_PORT: options.metricsBasePort ? String(options.metricsBasePort + i) : '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const log = createWriteStream(logFile, { flags: 'a' })
      child.stdout?.pipe(log)
      child.stderr?.pipe(log)
      instances.push({ port, base: `https://localhost:${port}`, child, logFile })
    }
    await Promise.all(
      instances.map(({ child, port }) =>
        waitForOutput(child, /usersvc is listening on/, `instance on port ${port}`),
      ),
    )
    const proxy = await prepareProxy({
      ...proxyOptionsFromEnv({}),
      runDir: join(options.dataDir, 'nginx'),
      tlsDir,
      httpsPort: options.proxyHttpsPort,
      httpPort: options.proxyHttpPort,
      upstreams: instances.map(({ port }) => `127.0.0.1:${port}`),
    })
    nginx = runProxy(proxy, 'ignore')
    await waitForPort(options.proxyHttpsPort, nginx, join(options.dataDir, 'nginx', 'error.log'))
    return {
      instances,
      proxyBase: `https://localhost:${options.proxyHttpsPort}`,
      caPath: proxy.caPath,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

async function main(): Promise<void> {
  const options = clusterOptionsFromEnv()
  const cluster = await startCluster(options)
  const ca = cluster.caPath.replace(`${process.cwd()}/`, '')
  const curl = `curl -s --cacert ${ca}`
  const json = `-H 'content-type: application/json'`
  const body = `'{"login":"newcomer","password":"correct horse battery staple"}'`
  console.error(
    [
      '',
      `${cluster.instances.length} usersvc instances on ${options.databaseUrl.replace(/\/\/[^@/]*@/, '//***@')} and ${options.redisUrl}:`,
      ...cluster.instances.map(
        (i) => `  ${i.base}   log: ${i.logFile.replace(`${process.cwd()}/`, '')}`,
      ),
      `nginx in front (round robin, HTTPS on both hops): ${cluster.proxyBase}`,
      '',
      'Register at one instance, log in through nginx (which may pick the other):',
      `  ${curl} ${cluster.instances[0]?.base}/user/ ${json} -d ${body}`,
      `  ${curl} ${cluster.proxyBase}/session/ ${json} -d ${body}`,
      '',
      'Ctrl-C stops nginx and the instances.',
      '',
    ].join('\n'),
  )
  let stopping = false
  const shutdown = () => {
    if (stopping) return
    stopping = true
    cluster.stop().then(() => process.exit(0))
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`cluster: ${error instanceof Error ? error.message : error}`)
    process.exitCode = 1
  })
}
