import { performance } from 'node:perf_hooks'
import type { FastifyBaseLogger } from 'fastify'
import { sql } from 'kysely'
import { type StorageFault, storageFault } from './errors.ts'
import type { Store } from './schema.ts'
import { fileIdentity } from './sqlite.ts'

/** Why the store cannot take writes: a fault its driver reported, or its file gone from the path. */
export type StoreFault = StorageFault | 'unlinked' | 'replaced'

/**
 * Most faults show only when something is written, so the guard writes a row now and then to
 * look: at most once a second, and only when asked (a write request, readiness).
 */
export const PROBE_EVERY_MS = 1000

export interface StoreGuard {
  /**
   * Why a write would fail now, or undefined. Starts a probe write when the last one is older
   * than PROBE_EVERY_MS; `wait`: answers after it.
   */
  check(wait: boolean): Promise<StoreFault | undefined>
  /** Takes note of what a failed query says about the storage. */
  note(error: unknown): void
}

/** The file's identity; null when stat fails otherwise than "no such file" (EACCES…). */
function identityAt(path: string): string | undefined | null {
  try {
    return fileIdentity(path)
  } catch {
    return null
  }
}

/** 'unlinked' or 'replaced' when the file at `path` is no longer the one known as `identity`. */
function moved(path: string, identity: string | undefined): 'unlinked' | 'replaced' | undefined {
  if (identity === undefined) return undefined
  const now = identityAt(path)
  // null: cannot tell, and nothing final is decided on a guess.
  if (now === identity || now === null) return undefined
  return now === undefined ? 'unlinked' : 'replaced'
}

function errorText(error: unknown): string | undefined {
  if (error === undefined) return undefined
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

/**
 * Knows whether the store can take writes. A file unlinked or replaced under SQLite is final:
 * the open file still works, but whatever it takes is gone at the next restart. Read-only, full
 * or failing storage is not: the next probe write that goes through ends it.
 */
export function createStoreGuard(store: Store, log: FastifyBaseLogger): StoreGuard {
  const { file } = store
  // The WAL holds the latest commits, so it must stay the open one too. It appears with the
  // first transaction and stays while the service has the database open.
  const wal = file && `${file.path}-wal`
  let walIdentity = wal && (identityAt(wal) ?? undefined)
  let fault: StoreFault | undefined
  let final = false
  let probedAt = Number.NEGATIVE_INFINITY
  let probing: Promise<void> | undefined

  function fail(reason: StorageFault, cause: unknown): void {
    if (final || fault === reason) return
    fault = reason
    log.warn(
      { reason, cause: errorText(cause) },
      'database storage cannot take writes: writes refused (503) until a probe write succeeds',
    )
  }

  function checkFile(): void {
    if (!file || !wal || final) return
    walIdentity ??= identityAt(wal) ?? undefined
    let path = file.path
    let reason = moved(path, file.identity)
    if (!reason) {
      path = wal
      reason = moved(path, walIdentity)
    }
    if (!reason) return
    final = true
    fault = reason
    log.error(
      { reason, path },
      'database file is not the one open: writes refused until restart (they would be lost then)',
    )
  }

  async function probe(): Promise<void> {
    probedAt = performance.now()
    try {
      // A connection SQLite opened read-only stays read-only, whatever becomes of the file.
      if (file && wal && (fault === 'read-only' || fault === 'cannot open')) {
        await file.reopen()
        walIdentity = identityAt(wal) ?? undefined
      }
      // A count, so every probe changes the row: SQLite skips writing a row that stays the same.
      await sql`insert into store_probe (id, writes) values (1, 1)
        on conflict (id) do update set writes = store_probe.writes + 1`.execute(store.db)
      checkFile()
      if (fault && !final) {
        log.info({ reason: fault }, 'database storage takes writes again')
        fault = undefined
      }
    } catch (error) {
      const reason = storageFault(error)
      // Anything else (the database unreachable, the store closed) is for requests to meet.
      if (reason) fail(reason, error)
      else log.debug({ cause: errorText(error) }, 'store probe failed')
    }
  }

  return {
    async check(wait) {
      checkFile()
      if (final) return fault
      if (performance.now() - probedAt >= PROBE_EVERY_MS) {
        probing ??= probe().finally(() => {
          probing = undefined
        })
        if (wait) await probing
      }
      return fault
    },
    note(error) {
      const reason = storageFault(error) ?? storageFault((error as { cause?: unknown })?.cause)
      if (!reason) return
      // The failed query told as much as a probe would.
      probedAt = performance.now()
      fail(reason, error)
    },
  }
}
