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

/** One `node src/cli.ts import FILE` process on a fresh store, sampled every `sampleMs`. */
export interface ImportRun {
  kind: 'sqlite' | 'postgres'
  label: string
  records: number
  fileMiB: number
  /** Records per scheme in the file. */
  schemes: Record<string, number>
  /** From the spawn to the process's exit: start-up and migrations included. */
  seconds: number
  recordsPerSecond: number
  /** The command's own last line ("read N: imported N, …"). */
  summary: string
  /** CPU seconds of the import process (all threads), at its last sample. */
  cpuSeconds: number
  loadAverage: { start: number[]; end: number[] }
  rss: {
    sampleMs: number
    /** VmHWM: the process's peak resident size. */
    peakMiB: number
    /** VmRSS at the samples nearest to 10%, 50% and 100% of the wall time. */
    at10MiB: number
    at50MiB: number
    at100MiB: number
    /** The highest VmRSS of the first and of the second half of the run. */
    firstHalfMaxMiB: number
    secondHalfMaxMiB: number
    samples: { t: number; mib: number }[]
  }
}

/** Milliseconds, the median and the worst of a scheme's users. */
export interface Timing {
  p50: number
  max: number
}

/** First logins of users imported with one foreign scheme, against the raw references. */
export interface FirstLoginScheme {
  scheme: string
  origin: string
  /** The service's name for it (password_scheme). */
  stored: string
  users: number
  /** The first login: the foreign verify, then argon2id, the hash replaced. */
  first: Timing
  /** A second login of the same user: an argon2id verify. */
  second: Timing
  /** That scheme's verify alone, in the benchmark process (node:crypto / @node-rs/bcrypt). */
  rawVerify: Timing
}

export interface FirstLogins {
  store: string
  usersPerScheme: number
  /** HASH_THREAD_NICE of the service's hash threads. */
  threadNice: number
  /** Whether the raw references ran at that nice value too (this process's pool threads). */
  referencesNiced: boolean
  /** One argon2id hash and verify at the service's parameters, alone, interleaved with the logins. */
  rawArgon2: { hash: Timing; verify: Timing }
  /** A login's cost beyond its argon2id verify: second-login p50 − raw argon2id verify p50. */
  overheadMs: number
  schemes: FirstLoginScheme[]
  loadAverage: { start: number[]; end: number[] }
}

export interface ImportResults {
  mode: Mode['name']
  machine?: Machine
  /** The bound: 1,000,000 records on SQLite in this many seconds. */
  goalSeconds: number
  runs: ImportRun[]
  firstLogins: FirstLogins
  seconds: number
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
  /** Import rate and memory, and first logins with imported hashes (bench/import.ts). */
  import?: ImportResults
  seconds: number
}
