// npm run proxy [-- start|stop|render]: nginx in front of usersvc, for local use.
// Generates what is missing (local CA, nginx certificate), renders deploy/nginx/nginx.conf.template
// for this checkout, checks it with `nginx -t`, and runs nginx as the current user with its pid,
// logs and temp files under data/nginx/.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_SANS, ensureLeaf, ensureLocalCa } from '../src/tls/local-ca.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export interface ProxyOptions {
  runDir: string
  tlsDir: string
  host: string
  httpsPort: number
  httpPort: number
  /** usersvc instances, host:port, reached over HTTPS. */
  upstreams: string[]
  /** Extra names for nginx's certificate. */
  sans: string[]
  /** nginx's worker user when nginx starts as root (default: the current user). */
  workerUser?: string
}

export function proxyOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ProxyOptions {
  const list = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  const data = resolve(ROOT, 'data')
  return {
    runDir: resolve(env.PROXY_DIR ?? join(data, 'nginx')),
    tlsDir: resolve(env.TLS_DIR ?? join(data, 'tls')),
    host: env.PROXY_HOST ?? '127.0.0.1',
    httpsPort: Number(env.PROXY_HTTPS_PORT ?? 9443),
    httpPort: Number(env.PROXY_HTTP_PORT ?? 9080),
    upstreams: list(env.PROXY_UPSTREAMS).length ? list(env.PROXY_UPSTREAMS) : ['127.0.0.1:8443'],
    sans: list(env.TLS_SAN),
    workerUser: env.PROXY_WORKER_USER || undefined,
  }
}

export interface PreparedProxy {
  confPath: string
  runDir: string
  caPath: string
}

const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find(existsSync)

function nginxBinary(): string {
  if (NGINX) return NGINX
  throw new Error('nginx is not installed. On Debian or Ubuntu: sudo apt-get install nginx')
}

const confPathIn = (runDir: string) => join(runDir, 'nginx.conf')

function nginxArgs(runDir: string): string[] {
  // -e: the error log before the config is read, so nginx never touches /var/log/nginx.
  return ['-p', `${runDir}/`, '-c', confPathIn(runDir), '-e', join(runDir, 'error.log')]
}

/** Certificates, rendered config, directories, and `nginx -t` (unless `check` is false). */
export async function prepareProxy(options: ProxyOptions, check = true): Promise<PreparedProxy> {
  const ca = await ensureLocalCa(options.tlsDir)
  const leaf = await ensureLeaf(ca, 'nginx', [...DEFAULT_SANS, ...options.sans])
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    await mkdir(join(options.runDir, 'tmp', sub), { recursive: true, mode: 0o700 })
  }
  const user = userInfo()
  const values: Record<string, string> = {
    // As root, nginx would hand its workers to "nobody"; run them as the current user instead.
    USER_DIRECTIVE: options.workerUser
      ? `user ${options.workerUser};`
      : user.uid === 0
        ? `user ${user.username};`
        : '# runs as the current user',
    RUN_DIR: options.runDir,
    UPSTREAM_SERVERS: options.upstreams.map((u) => `    server ${u};`).join('\n'),
    HTTP_LISTEN: `${options.host}:${options.httpPort}`,
    HTTPS_LISTEN: `${options.host}:${options.httpsPort}`,
    HTTPS_PORT: String(options.httpsPort),
    CERT_FILE: leaf.certPath,
    KEY_FILE: leaf.keyPath,
    UPSTREAM_CA_FILE: ca.caPath,
  }
  const template = await readFile(join(ROOT, 'deploy/nginx/nginx.conf.template'), 'utf8')
  const rendered = template.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const value = values[name]
    if (value === undefined) throw new Error(`template placeholder {{${name}}} has no value`)
    return value
  })
  const confPath = confPathIn(options.runDir)
  await writeFile(confPath, rendered)
  if (check)
    execFileSync(nginxBinary(), [...nginxArgs(options.runDir), '-t', '-q'], { stdio: 'inherit' })
  return { confPath, runDir: options.runDir, caPath: ca.caPath }
}

/**
 * nginx in the foreground of a child process, in a process group of its own: a terminal's Ctrl-C
 * reaches only this process, which decides how nginx stops. Stop it with child.kill('SIGQUIT')
 * (graceful, what `nginx -s quit` sends, without needing the pid file), stopProxy, or SIGTERM.
 */
export function runProxy(
  prepared: PreparedProxy,
  stdio: 'inherit' | 'ignore' = 'inherit',
): ChildProcess {
  return spawn(nginxBinary(), [...nginxArgs(prepared.runDir), '-g', 'daemon off;'], {
    stdio,
    detached: true,
  })
}

/** Graceful stop through the pid file: finish open requests, then exit (nginx -s quit). */
export function stopProxy({ runDir }: Pick<PreparedProxy, 'runDir'>): void {
  execFileSync(nginxBinary(), [...nginxArgs(runDir), '-s', 'quit'], { stdio: 'inherit' })
}

async function main(command = 'run'): Promise<void> {
  const options = proxyOptionsFromEnv()
  if (command === 'stop') {
    stopProxy(options)
    console.log('nginx: asked to quit')
    return
  }
  // `render` also serves images without nginx (compose's setup step renders for the nginx image).
  const prepared = await prepareProxy(options, command !== 'render' || NGINX !== undefined)
  const base = `https://localhost:${options.httpsPort}`
  if (command === 'render') {
    console.log(prepared.confPath)
    return
  }
  if (command === 'start')
    execFileSync(nginxBinary(), nginxArgs(options.runDir), { stdio: 'inherit' })
  console.error(
    `\nnginx is in front of ${options.upstreams.join(', ')} at ${base}\n` +
      `  config: ${prepared.confPath}\n` +
      `  try:    curl --cacert ${prepared.caPath} ${base}/health/live\n` +
      (command === 'start' ? '  stop:   npm run proxy -- stop\n' : '  stop:   Ctrl-C\n'),
  )
  if (command === 'start') return
  const child = runProxy(prepared)
  // The first Ctrl-C lets nginx finish open requests and quit; a second one ends it at once.
  let signals = 0
  const quit = () => child.kill(signals++ === 0 ? 'SIGQUIT' : 'SIGTERM')
  process.on('SIGINT', quit)
  process.on('SIGTERM', quit)
  child.on('exit', (code) => {
    process.exitCode = code ?? 0
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const command = process.argv[2]
  if (command && !['run', 'start', 'stop', 'render'].includes(command)) {
    console.error('usage: npm run proxy [-- run|start|stop|render]')
    process.exitCode = 2
  } else {
    main(command).catch((error: unknown) => {
      console.error(`proxy: ${error instanceof Error ? error.message : error}`)
      process.exitCode = 1
    })
  }
}
