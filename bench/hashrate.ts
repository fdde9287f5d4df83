// Reference (a): raw argon2id on all cores at the service's parameters, no HTTP.
// Run with the service's environment: node bench/hashrate.ts SECONDS → one JSON line.
import '../src/runtime.ts'
import { availableParallelism } from 'node:os'
import { type Algorithm, hash, verify } from '@node-rs/argon2'
import { loadConfig } from '../src/config/index.ts'
import { defaultConcurrency } from '../src/passwords/hasher.ts'
import { PASSWORD } from './config.ts'
import { opsPerSecond, round } from './stats.ts'

const seconds = Number(process.argv[2] ?? 5)
const { passwords } = loadConfig()
// Every core hashing: the physical limit, whatever share of it the service gives to hashing.
const concurrency = availableParallelism()
const argon = { ...passwords.argon2, algorithm: 2 as Algorithm, outputLen: 32 }
const stored = await hash(PASSWORD, argon)

const hashOnce = () => hash(PASSWORD, argon)
await opsPerSecond(hashOnce, Math.min(1, seconds / 4), concurrency) // warm-up, not counted
const hashPerSecond = await opsPerSecond(hashOnce, seconds, concurrency)
const verifyPerSecond = await opsPerSecond(() => verify(stored, PASSWORD), seconds, concurrency)
process.stdout.write(
  `${JSON.stringify({
    concurrency,
    // What the service, in this same environment, runs at once (src/passwords/hasher.ts).
    serviceConcurrency: passwords.concurrency || defaultConcurrency(),
    threadPool: Number(process.env.UV_THREADPOOL_SIZE),
    params: passwords.argon2,
    hashPerSecond: round(hashPerSecond),
    verifyPerSecond: round(verifyPerSecond),
  })}\n`,
)
