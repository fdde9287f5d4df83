// npm run cluster, as a test: scripts/cluster.ts starts two real usersvc instances on the machine's
// PostgreSQL (a database of their own, created by ensureDatabase and dropped afterwards) and Redis
// (keys under a prefix of their own), with nginx in front; then stops all of it.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { Redis } from 'ioredis'
import pg from 'pg'
import { Agent, fetch } from 'undici'
import { type Cluster, type ClusterOptions, startCluster } from '../../scripts/cluster.ts'
import { eventually } from '../support/eventually.ts'
import { TEST_ENV } from '../support/harness.ts'
import { freePort, freePorts } from '../support/ports.ts'
import { adminQuery, POSTGRES_URL } from '../support/postgres.ts'
import { childrenOf } from '../support/processes.ts'
import { REDIS_URL, scanKeys } from '../support/redis.ts'
import { PASSWORD } from '../support/requests.ts'

async function databaseExists(name: string): Promise<boolean> {
  const rows = await adminQuery('select 1 from pg_database where datname = $1', [name])
  return rows.length > 0
}

async function withRedis<T>(run: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  await client.connect()
  try {
    return await run(client)
  } finally {
    client.disconnect()
  }
}

function redisKeys(prefix: string): Promise<string[]> {
  return withRedis((client) => scanKeys(client, prefix))
}

/** Is a process with this pid alive (and not a zombie)? */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** Live processes whose command line or environment names `dir` (this cluster's files). */
async function processesMentioning(dir: string): Promise<Array<{ pid: number; cmdline: string }>> {
  const found: Array<{ pid: number; cmdline: string }> = []
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry)
    if (!/^\d+$/.test(entry) || pid === process.pid) continue
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ')
      const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '')
      if ((cmdline.includes(dir) || environ.includes(dir)) && (await alive(pid)))
        found.push({ pid, cmdline })
    } catch {
      // exited meanwhile
    }
  }
  return found
}

/** Waits (generously) until none of `pids` is alive; true if so. */
async function gone(pids: number[]): Promise<boolean> {
  const left = await eventually(
    async () => {
      const left = []
      for (const pid of pids) if (await alive(pid)) left.push(pid)
      return left
    },
    {
      what: `the end of ${pids.join(', ')}`,
      until: (left) => left.length === 0,
      lastOnTimeout: true,
    },
  )
  return left.length === 0
}

/**
 * The safety net after a test: whatever of this cluster still runs (an instance, nginx's master or
 * its workers, found by pid) is ended, politely first. Only processes this test started.
 */
async function endLeftovers(s: Setup): Promise<void> {
  for (const { child } of s.cluster?.instances ?? []) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done))
      child.kill('SIGKILL')
      await exited
    }
  }
  for (const { pid } of await processesMentioning(s.dataDir)) {
    const pids = [pid, ...childrenOf(pid)]
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      continue
    }
    if (!(await gone(pids))) {
      for (const each of pids) {
        try {
          process.kill(each, 'SIGKILL')
        } catch {
          // gone meanwhile
        }
      }
    }
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = netConnect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      done(false)
    })
    socket.once('error', () => done(true))
  })
}

interface LogLine {
  msg?: string
  method?: string
  url?: string
  status?: number
}

async function logLines(file: string): Promise<LogLine[]> {
  const text = await readFile(file, 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)
}

interface Setup {
  dataDir: string
  databaseName: string
  prefix: string
  options: ClusterOptions
  /** Set once started, for the clean-up. */
  cluster?: Cluster
}

/** Everything a cluster needs, unique to this test; all of it is undone after the test. */
async function setup(t: TestContext): Promise<Setup> {
  const dataDir = await mkdtemp(join(tmpdir(), 'usersvc-cluster-'))
  const databaseName = `usersvc_test_${randomBytes(6).toString('hex')}`
  const prefix = `usersvc_test_${randomBytes(6).toString('hex')}`
  const target = new URL(POSTGRES_URL)
  target.pathname = `/${databaseName}`
  const s: Setup = {
    dataDir,
    databaseName,
    prefix,
    options: {
      size: 2,
      basePort: await freePorts(2),
      databaseUrl: target.toString(),
      redisUrl: REDIS_URL,
      dataDir,
      proxyHttpsPort: await freePort(),
      proxyHttpPort: await freePort(),
      // No metrics listeners: nothing here is about them, and they would need free ports too.
      metricsBasePort: 0,
      env: { ...TEST_ENV, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'info' },
    },
  }
  // One hook, in this order: processes first, then what they used.
  t.after(async () => {
    await s.cluster?.stop().catch(() => {})
    await endLeftovers(s)
    await adminQuery(`drop database if exists "${databaseName}" with (force)`)
    const keys = await redisKeys(prefix)
    if (keys.length > 0) await withRedis((client) => client.del(...keys))
    await rm(dataDir, { recursive: true, force: true })
  })
  return s
}

describe('npm run cluster (scripts/cluster.ts)', () => {
  test('two instances on PostgreSQL and Redis behind nginx: shared users, round robin, clean stop', async (t) => {
    const s = await setup(t)
    assert.equal(await databaseExists(s.databaseName), false)

    const cluster = await startCluster(s.options)
    s.cluster = cluster

    // ensureDatabase made the database; the migrations ran once; the two instances share one key.
    assert.equal(await databaseExists(s.databaseName), true)
    const client = new pg.Client({ connectionString: s.options.databaseUrl })
    await client.connect()
    try {
      const signing = await client.query('select kid from signing_keys where retired_at is null')
      assert.equal(signing.rows.length, 1, 'exactly one signing key, however many instances')
    } finally {
      await client.end()
    }

    assert.equal(cluster.instances.length, 2)
    assert.deepEqual(
      cluster.instances.map((i) => i.port),
      [s.options.basePort, s.options.basePort + 1],
    )
    assert.equal(cluster.proxyBase, `https://localhost:${s.options.proxyHttpsPort}`)
    const dispatcher = new Agent({ connect: { ca: await readFile(cluster.caPath, 'utf8') } })
    t.after(() => dispatcher.close())
    const post = (base: string, path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        dispatcher,
      })
    const get = (url: string) => fetch(url, { dispatcher })

    // nginx takes a moment to listen once started.
    await eventually(
      async () => {
        const res = await get(`${cluster.proxyBase}/health/live`)
        return res.status === 200 ? true : undefined
      },
      { what: 'nginx answering', retryErrors: true },
    )

    // Register at instance 1 directly (HTTPS, trusting the cluster's CA)…
    const first = cluster.instances[0]
    assert.ok(first)
    const created = await post(first.base, '/user/', { login: 'roundrobin', password: PASSWORD })
    const createdBody = await created.text()
    assert.equal(created.status, 201, createdBody)
    const user = JSON.parse(createdBody) as { id: string }

    // …and log in through nginx, which spreads the logins over both instances.
    for (let i = 0; i < 8; i++) {
      const res = await post(cluster.proxyBase, '/session/', {
        login: 'roundrobin',
        password: PASSWORD,
      })
      const body = await res.text()
      assert.equal(res.status, 200, `login ${i + 1} through nginx: ${body}`)
      assert.equal(JSON.parse(body).user.id, user.id)
    }
    for (const [n, instance] of cluster.instances.entries()) {
      const logins = await eventually(
        async () => {
          const lines = (await logLines(instance.logFile)).filter(
            (line) =>
              line.msg === 'request' &&
              line.method === 'POST' &&
              line.url === '/session/' &&
              line.status === 200,
          )
          return lines.length > 0 ? lines : undefined
        },
        { what: `a logged login at instance ${n + 1} (${instance.logFile})`, retryErrors: true },
      )
      assert.ok(logins.length >= 1)
    }

    // Readiness, at each instance and through nginx: database and Redis are both there.
    for (const instance of cluster.instances) {
      const body = await eventually(
        async () => {
          const res = await get(`${instance.base}/health/ready`)
          const json = (await res.json()) as { status: string }
          return res.status === 200 && json.status === 'ok' ? json : undefined
        },
        { what: `instance ${instance.port} ready`, retryErrors: true },
      )
      assert.deepEqual(body, {
        status: 'ok',
        checks: { database: 'ok', signing_key: 'ok', redis: 'ok', mail: 'ok', webhooks: 'ok' },
      })
    }
    for (let i = 0; i < 4; i++) {
      const res = await get(`${cluster.proxyBase}/health/ready`)
      assert.equal(res.status, 200)
      assert.deepEqual(await res.json(), {
        status: 'ok',
        checks: { database: 'ok', signing_key: 'ok', redis: 'ok', mail: 'ok', webhooks: 'ok' },
      })
    }

    // The throttling counters are in the shared Redis, under this cluster's prefix.
    const counters = await redisKeys(s.prefix)
    assert.ok(counters.includes(`${s.prefix}:login:addr:127.0.0.1`), counters.join(', '))

    // What runs now: the instances, nginx's master and its workers.
    const nginxPid = Number((await readFile(join(s.dataDir, 'nginx', 'nginx.pid'), 'utf8')).trim())
    const workers = childrenOf(nginxPid)
    assert.ok(workers.length > 0, 'nginx has workers')
    const instancePids = cluster.instances.map((i) => i.child.pid ?? 0)
    const pids = [nginxPid, ...workers, ...instancePids]
    for (const pid of pids) assert.ok(await alive(pid), `pid ${pid} runs before stop()`)

    await cluster.stop()

    for (const pid of pids) assert.equal(await alive(pid), false, `pid ${pid} after stop()`)
    for (const instance of cluster.instances) {
      assert.ok(instance.child.exitCode !== null || instance.child.signalCode !== null)
      assert.equal(await refused(instance.port), true, `instance port ${instance.port}`)
    }
    assert.equal(await refused(s.options.proxyHttpsPort), true, 'nginx HTTPS port')
    assert.equal(await refused(s.options.proxyHttpPort), true, 'nginx HTTP port')
    assert.deepEqual(await processesMentioning(s.dataDir), [], 'processes of this cluster')
    assert.equal(existsSync(join(s.dataDir, 'nginx', 'nginx.pid')), false, 'nginx removed its pid')
  })

  test('once startCluster has resolved, nginx answers at proxyBase', async (t) => {
    // The caller (and main(), which prints curl lines at once) is handed proxyBase as ready; and
    // stop() runs `nginx -s quit`, which needs the pid file nginx writes as it starts.
    const s = await setup(t)
    const cluster = await startCluster(s.options)
    s.cluster = cluster
    const dispatcher = new Agent({ connect: { ca: await readFile(cluster.caPath, 'utf8') } })
    t.after(() => dispatcher.close())

    let answer: string
    try {
      const res = await fetch(`${cluster.proxyBase}/health/live`, { dispatcher })
      answer = `${res.status} ${await res.text()}`
    } catch (error) {
      answer = `no answer: ${String((error as Error).cause ?? error)}`
    }
    assert.equal(answer, '200 {"status":"ok"}')
    assert.ok(existsSync(join(s.dataDir, 'nginx', 'nginx.pid')), 'nginx has written its pid file')

    // And stopping at once (as Ctrl-C right after the start would) ends everything.
    const pids = cluster.instances.map((i) => i.child.pid ?? 0)
    await cluster.stop()
    assert.equal(await gone(pids), true)
    assert.deepEqual(await processesMentioning(s.dataDir), [], 'processes of this cluster')
  })
})
