import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { type Algorithm, hash, parseOptions, verify } from '@node-rs/argon2'
import { type Admission, createAdmission } from './admission.ts'
import { verifyForeign } from './foreign/index.ts'

export interface Argon2Params {
  memoryCost: number
  timeCost: number
  parallelism: number
}

/** `verify_foreign`: an imported hash of another scheme (passwords/foreign), verified by it. */
export type HashOperation = 'hash' | 'verify' | 'verify_foreign'

export interface HasherOptions {
  params: Argon2Params
  /** Hashes at once; 0 = defaultConcurrency(). They run on libuv's thread pool, never the event loop. */
  concurrency?: number
  /** libuv's thread pool size (UV_THREADPOOL_SIZE, see runtime.ts); default 4, libuv's own. */
  threadPoolSize?: number
  queueLimit?: number
  /** Refuse (503) a hash that would wait longer than this for a thread. */
  maxQueueWaitMs?: number
  /** Called after each hash or verify with the seconds the argon2id work took (no queueing). */
  onWork?: (operation: HashOperation, seconds: number) => void
}

export interface Hasher {
  /** A PHC string: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. */
  hash(password: string): Promise<string>
  /**
   * `stored` is a PHC argon2 string, or an imported hash of another scheme (passwords/foreign),
   * verified by that scheme: either way on the pool, admitted like any hash.
   */
  verify(stored: string, password: string): Promise<boolean>
  /** The same work as `verify`, against a throwaway hash: for logins that do not exist. */
  verifyDummy(password: string): Promise<void>
  /** True when `stored` was made with other parameters than today's. */
  needsRehash(stored: string): boolean
  /** Decides whether a hash may wait for a thread; callers ask it before other work. */
  readonly admission: Admission
}

// @node-rs/argon2 declares Algorithm and Version as ambient const enums, which type stripping
// cannot inline; these are their documented values.
const ARGON2ID = 2 as Algorithm
const VERSION_0x13 = 1

/**
 * One hash per core. The event loop (TLS, JSON, the database) does not lose its core to them:
 * the pool threads run at a lower priority (HASH_THREAD_NICE, see priority.ts), so it runs the
 * moment it has work, and hashes take only what it leaves. Two pool threads always stay free for
 * everything else that runs there (token signatures, file I/O).
 */
export function defaultConcurrency(threadPoolSize = 4): number {
  return Math.max(1, Math.min(availableParallelism(), threadPoolSize - 2))
}

export async function createHasher(options: HasherOptions): Promise<Hasher> {
  const { params } = options
  const argon = { ...params, algorithm: ARGON2ID, outputLen: 32 }
  const concurrency = options.concurrency || defaultConcurrency(options.threadPoolSize)
  const admission = createAdmission({
    concurrency,
    queueLimit: options.queueLimit ?? 256,
    maxWaitMs: options.maxQueueWaitMs ?? 250,
  })
  const dummy = await hash(randomBytes(32).toString('base64url'), argon)
  const timed = async <T>(operation: HashOperation, work: () => Promise<T>): Promise<T> => {
    const started = performance.now()
    try {
      return await work()
    } finally {
      options.onWork?.(operation, (performance.now() - started) / 1000)
    }
  }
  const check = (stored: string, password: string) =>
    admission.run(() =>
      stored.startsWith('$argon2')
        ? timed('verify', () => verify(stored, password).catch(() => false))
        : timed('verify_foreign', () => verifyForeign(stored, password)),
    )
  return {
    admission,
    hash: (password) => admission.run(() => timed('hash', () => hash(password, argon))),
    verify: check,
    async verifyDummy(password) {
      await check(dummy, password)
    },
    needsRehash(stored) {
      try {
        const o = parseOptions(stored)
        return (
          o.algorithm !== ARGON2ID ||
          (o.version as number) !== VERSION_0x13 ||
          o.memoryCost !== params.memoryCost ||
          o.timeCost !== params.timeCost ||
          o.parallelism !== params.parallelism
        )
      } catch {
        return true
      }
    },
  }
}
