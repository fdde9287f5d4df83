import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { systemClock } from '../clock.ts'
import { eventsRecorder } from '../events/record.ts'
import { manyRecorder } from '../outbox/record.ts'
import type { FirebaseParams } from '../passwords/foreign/types.ts'
import { createHasher } from '../passwords/hasher.ts'
import { createPasswordPolicy } from '../passwords/policy.ts'
import { createImporter } from '../transfer/importer.ts'
import { readPickle } from '../transfer/pickle/index.ts'
import { checkMapping, type PickleMapping, pickleRecords } from '../transfer/pickle-records.ts'
import { FORMATS, type Format, formatOf, type ReadItem, readRecords } from '../transfer/read.ts'
import { runImport, type Totals } from '../transfer/run.ts'
import { type Command, type CommandInput, UsageError } from './command.ts'
import { withStore } from './store.ts'

const usage = `usage: usersvc import FILE|- [--format jsonl|csv] [--dry-run] [--allow-weak]
       usersvc import --from-pickle FILE [--field NAME=KEY]… [--hash SCHEME]
                      [--salt-encoding hex|base64|utf8] [--hash-encoding hex|base64]

Imports users with their existing password hashes (JSON Lines, or CSV with a header row; the
format follows the file name unless --format says). Each user logs in with the old password,
and that first login replaces the hash with argon2id. Safe to run while the service runs, and
to run again: a login, address or id that exists already is skipped.
  --dry-run        check every record and report, writing nothing
  --allow-weak     accept unsalted hashes and MD5/SHA-1 digests
  --firebase-signer-key B64 --firebase-salt-separator B64 --firebase-rounds N
  --firebase-mem-cost N
                   the project's hash config, for firebase-scrypt records
A pickle (a dict keyed by login, or a list of dicts) is read without running any of it:
  --field NAME=KEY  where our field NAME is in each record (login, password_hash, salt,
                    registered_at, email, email_verified, role, id)
  --hash SCHEME     the scheme of every hash: pbkdf2-sha256:ITERATIONS, pbkdf2-sha512:…,
                    sha256:{salt}{password}, sha512:…, sha1:…, md5:… (without it, each
                    hash is an encoded string such as Werkzeug's or Django's)
Prints what was imported, skipped and refused; the exit status is 1 when any record was
refused. See "Migrating to usersvc" in the README.`

const options = {
  format: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'allow-weak': { type: 'boolean' },
  'from-pickle': { type: 'boolean' },
  field: { type: 'string', multiple: true },
  hash: { type: 'string' },
  'salt-encoding': { type: 'string' },
  'hash-encoding': { type: 'string' },
  'firebase-signer-key': { type: 'string' },
  'firebase-salt-separator': { type: 'string' },
  'firebase-rounds': { type: 'string' },
  'firebase-mem-cost': { type: 'string' },
} as const

/**
 * A pickle is one object, read whole and then mapped record by record: a file a student service
 * or a small app kept, not a million-user export (use JSON Lines for that).
 */
const PICKLE_LIMITS = {
  maxBytes: 256 * 1024 * 1024,
  maxMemo: 32 * 1024 * 1024,
  maxStack: 8 * 1024 * 1024,
}

function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  flag: string,
): T | undefined {
  if (value === undefined) return undefined
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw new UsageError(`usersvc: ${flag} is one of ${allowed.join(', ')}`)
  }
  return value as T
}

function firebaseParams(values: CommandInput['values']): FirebaseParams | undefined {
  const given = ['signer-key', 'salt-separator', 'rounds', 'mem-cost'].map(
    (name) => values[`firebase-${name}`],
  )
  if (given.every((v) => v === undefined)) return undefined
  const [signerKey, saltSeparator, rounds, memCost] = given
  if (typeof signerKey !== 'string' || typeof rounds !== 'string' || typeof memCost !== 'string') {
    throw new UsageError(
      'usersvc: firebase-scrypt needs --firebase-signer-key, --firebase-rounds and --firebase-mem-cost (and --firebase-salt-separator)',
    )
  }
  return {
    signerKey,
    saltSeparator: typeof saltSeparator === 'string' ? saltSeparator : '',
    rounds: Number(rounds),
    memCost: Number(memCost),
  }
}

function pickleMapping(values: CommandInput['values']): PickleMapping {
  const fields: Record<string, string> = {}
  for (const pair of (values.field as string[] | undefined) ?? []) {
    const at = pair.indexOf('=')
    if (at < 1 || at === pair.length - 1)
      throw new UsageError(`usersvc: --field takes NAME=KEY, not ${pair}`)
    fields[pair.slice(0, at)] = pair.slice(at + 1)
  }
  const saltEncoding = oneOf(values['salt-encoding'], ['hex', 'base64', 'utf8'], '--salt-encoding')
  const hashEncoding = oneOf(values['hash-encoding'], ['hex', 'base64'], '--hash-encoding')
  const mapping = {
    fields,
    ...(typeof values.hash === 'string' ? { hash: values.hash } : {}),
    ...(saltEncoding ? { saltEncoding } : {}),
    ...(hashEncoding ? { hashEncoding } : {}),
  }
  // A bad --hash or --field is said before the file is read.
  try {
    checkMapping(mapping)
  } catch (error) {
    throw new UsageError(`usersvc: ${(error as Error).message}`)
  }
  return mapping
}

async function* fromPickle(file: string, mapping: PickleMapping): AsyncGenerator<ReadItem> {
  if ((await stat(file)).size > PICKLE_LIMITS.maxBytes) {
    throw new UsageError(`usersvc: ${file} is larger than a pickle import reads (256 MiB)`)
  }
  const data = readPickle(await readFile(file), PICKLE_LIMITS)
  for (const item of pickleRecords(data, mapping)) {
    // Numbered from 1, like lines.
    const index = item.index + 1
    yield item.record
      ? { index, raw: item.record }
      : { index, reason: 'unmapped', detail: item.error }
  }
}

export const importCommand: Command = {
  usage,
  options,
  async run({ values, positionals }, config) {
    const [file, ...rest] = positionals
    if (!file || rest.length > 0) throw new UsageError(usage)
    const pickle = values['from-pickle'] === true
    if (pickle && file === '-') throw new UsageError('usersvc: a pickle is read from a file, not -')
    const format: Format = oneOf(values.format, FORMATS, '--format') ?? formatOf(file)
    const mapping = pickle ? pickleMapping(values) : undefined
    const dryRun = values['dry-run'] === true
    const firebase = firebaseParams(values)
    const label = pickle ? 'record' : 'line'
    const err = process.stderr
    const live = err.isTTY === true

    const totals = await withStore(config, async (store) => {
      // A command line waits for its hashes rather than being refused like a flood of requests.
      const hasher = await createHasher({
        params: config.passwords.argon2,
        queueLimit: 100_000,
        maxQueueWaitMs: 3_600_000,
      })
      const recordMany = manyRecorder(
        store.dialect,
        () => new Date(),
        () => {},
      )
      const importer = createImporter(
        {
          db: store.db,
          clock: systemClock,
          hasher,
          policy: createPasswordPolicy(config.passwords.minLength),
          // No request: the actor is the system. A running service delivers what this records.
          events: eventsRecorder(recordMany, () => new Date()),
        },
        { dryRun, allowWeak: values['allow-weak'] === true, ...(firebase ? { firebase } : {}) },
      )
      const items = pickle
        ? fromPickle(file, mapping as PickleMapping)
        : readRecords(file === '-' ? process.stdin : createReadStream(file), format)
      let shownSkips = 0
      const clear = () => live && err.write(CLEAR_LINE)
      return runImport(items, importer, {
        refused(r) {
          clear()
          err.write(
            `${label} ${r.index}: refused, ${r.reason}${r.detail ? ` (${r.detail})` : ''}\n`,
          )
        },
        skipped(s) {
          if (++shownSkips > MAX_SKIPS_SHOWN) return
          clear()
          err.write(`${label} ${s.index}: skipped, ${s.reason}: ${s.login}\n`)
        },
        progress(t) {
          if (live) err.write(`${CLEAR_LINE}${summary(t, dryRun)}`)
        },
      })
    })
    if (live) err.write(CLEAR_LINE)
    if (totals.skipped > MAX_SKIPS_SHOWN) {
      err.write(`(${totals.skipped - MAX_SKIPS_SHOWN} more skipped, not listed)\n`)
    }
    if (totals.weak > 0) {
      err.write(
        `usersvc: warning: ${totals.weak} ${dryRun ? 'would come' : 'came'} with a weak hash (MD5/SHA-1 or unsalted): each is replaced by argon2id at its user's first login; until then a leak of the database gives those passwords away quickly\n`,
      )
    }
    console.log(summary(totals, dryRun))
    return totals.refused > 0 ? 1 : 0
  },
}

const MAX_SKIPS_SHOWN = 100
/** Back to the start of the terminal's line, and clear it: the progress line is rewritten. */
const CLEAR_LINE = '\r\x1b[K'

function summary(t: Totals, dryRun: boolean): string {
  const verb = dryRun ? 'would import' : 'imported'
  return `read ${t.read}: ${verb} ${t.imported}, skipped ${t.skipped} (existing), refused ${t.refused}${dryRun ? ' (dry run: nothing written)' : ''}`
}
