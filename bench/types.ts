// The shape of latest.json.
import type { Mode } from './config.ts'
import type { LoadResult } from './load.ts'

export interface HashRate {
  concurrency: number
  serviceConcurrency: number
  threadPool: number
  params: { memoryCost: number; timeCost: number; parallelism: number }
  hashPerSecond: number
  verifyPerSecond: number
}

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  os: string
  date: string
  loadAverage: number[]
}

export interface StoreResults {
  kind: 'sqlite' | 'postgres'
  label: string
  users: number
  commits: { oneAtATime: number; concurrent: number; concurrency: number }
  runs: LoadResult[]
  /** register and login on the seeded store and on the large one, measured back to back. */
  scale: {
    users: number
    connections: number
    seedSeconds: number
    small: LoadResult[]
    large: LoadResult[]
  }
}

export interface Overload {
  store: string
  capacity: number
  target: number
  connections: number
  login: LoadResult
  health: LoadResult
  me: LoadResult
  /** The service's own event-loop delay (prom-client, per second) and hash queue length. */
  eventLoop: { t: number; maxMs: number; p99Ms: number; queued: number }[]
  rss: {
    beforeMiB: number
    peakMiB: number
    highWaterMiB: number
    samples: { t: number; mib: number }[]
  }
}

export interface Results {
  mode: Mode
  machine: Machine & { loadAverageAtEnd: number[] }
  service: {
    argon2: HashRate['params']
    hashConcurrency: number
    threadPool: number
    /** HASH_THREAD_NICE of the pool threads (absent in runs from before it existed). */
    threadNice?: number
    hashQueueLimit: number
    throttle: Record<string, string>
    log: string
  }
  references: { hash: HashRate; bare: LoadResult[] }
  stores: StoreResults[]
  overload?: Overload
  seconds: number
}
