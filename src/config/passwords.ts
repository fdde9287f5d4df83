import Type from 'typebox'
import type { EnvOf } from './env.ts'

export const env = {
  PASSWORD_MIN_LENGTH: Type.Integer({ default: 15, minimum: 8, maximum: 256 }),
  ARGON2_MEMORY_KIB: Type.Integer({ default: 19456, minimum: 8, maximum: 4194304 }),
  ARGON2_TIME_COST: Type.Integer({ default: 2, minimum: 1, maximum: 100 }),
  ARGON2_PARALLELISM: Type.Integer({ default: 1, minimum: 1, maximum: 16 }),
  HASH_CONCURRENCY: Type.Integer({ default: 0, minimum: 0, maximum: 1024 }),
  // The nice value of the thread pool that hashes (Linux): the event loop goes first.
  HASH_THREAD_NICE: Type.Integer({ default: 10, minimum: 0, maximum: 19 }),
  HASH_QUEUE_LIMIT: Type.Integer({ default: 256, minimum: 0, maximum: 100000 }),
  HASH_QUEUE_MAX_WAIT_MS: Type.Integer({ default: 250, minimum: 0, maximum: 60000 }),
  // libuv's own variable, read here too: hashes leave two of its threads free (runtime.ts sizes it).
  UV_THREADPOOL_SIZE: Type.Integer({ default: 4, minimum: 1, maximum: 1024 }),
}

export interface PasswordsConfig {
  minLength: number
  argon2: { memoryCost: number; timeCost: number; parallelism: number }
  /** Hashes running at once; 0 means one per core (see passwords/hasher.ts). */
  concurrency: number
  /** libuv's thread pool size, where hashes run. */
  threadPoolSize: number
  /** Nice value for libuv's pool threads, where hashes run (0 leaves them alone). */
  threadNice: number
  /** Hashes waiting beyond that before requests are refused with 503. */
  queueLimit: number
  /** Also refused: a hash that would wait longer than this. */
  maxQueueWaitMs: number
}

export function read(e: EnvOf<typeof env>): PasswordsConfig {
  return {
    minLength: e.PASSWORD_MIN_LENGTH,
    argon2: {
      memoryCost: e.ARGON2_MEMORY_KIB,
      timeCost: e.ARGON2_TIME_COST,
      parallelism: e.ARGON2_PARALLELISM,
    },
    concurrency: e.HASH_CONCURRENCY,
    threadPoolSize: e.UV_THREADPOOL_SIZE,
    threadNice: e.HASH_THREAD_NICE,
    queueLimit: e.HASH_QUEUE_LIMIT,
    maxQueueWaitMs: e.HASH_QUEUE_MAX_WAIT_MS,
  }
}
