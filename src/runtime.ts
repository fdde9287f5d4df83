// Imported first by the CLI. libuv creates its thread pool on first use, with the size
// UV_THREADPOOL_SIZE has at that moment. argon2id hashes run there, and so do WebCrypto (token
// signatures) and file I/O: one thread per core for hashes plus two spare, so a burst of logins
// never queues the cheap work behind them (see passwords/hasher.ts for the hash side).
import { availableParallelism } from 'node:os'

if (!process.env.UV_THREADPOOL_SIZE) {
  process.env.UV_THREADPOOL_SIZE = String(Math.max(4, availableParallelism() + 2))
}
