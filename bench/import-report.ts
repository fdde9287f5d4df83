// The "Import and first logins" section: in latest.md (npm run bench) and in import.md (the
// import benchmark alone), with its goals.
import { IMPORT_GOAL } from './config.ts'
import type { Goal } from './goals.ts'
import { ms, n, ratio } from './goals.ts'
import type { FirstLoginScheme, FirstLogins, ImportResults, ImportRun } from './types.ts'

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

/** Seconds 1,000,000 records take at the measured rate (the run itself when it was 1,000,000). */
export const projectedSeconds = (run: ImportRun) =>
  run.records === IMPORT_GOAL.records ? run.seconds : IMPORT_GOAL.records / run.recordsPerSecond

/** Flat: the second half of the run sets no new high beyond 10% + 16 MiB of the first half's. */
export const flat = (run: ImportRun) =>
  run.rss.secondHalfMaxMiB <= run.rss.firstHalfMaxMiB * 1.1 + 16

/** Bytes of resident memory per record the second half of the run added (from 50% to 100%). */
export const growthPerRecord = (run: ImportRun) =>
  ((run.rss.at100MiB - run.rss.at50MiB) * 2 ** 20) / (run.records / 2)

/** What a first login may cost: the scheme's verify, one argon2id hash, and a login's overhead. */
export const allowance = (logins: FirstLogins, s: FirstLoginScheme) =>
  s.rawVerify.p50 + logins.rawArgon2.hash.p50 + logins.overheadMs
export const firstLoginRatio = (logins: FirstLogins, s: FirstLoginScheme) =>
  s.first.p50 / allowance(logins, s)

export function importGoals(results: ImportResults): Goal[] {
  const list: Goal[] = []
  for (const run of results.runs) {
    const seconds = projectedSeconds(run)
    const measured =
      run.records === IMPORT_GOAL.records
        ? `${n(run.seconds)} s (${n(run.recordsPerSecond)} records/s)`
        : `${n(Math.round(seconds))} s at ${n(run.recordsPerSecond)} records/s (from ${n(run.records)} records)`
    list.push({
      goal: `import 1,000,000 pre-hashed records in < ${IMPORT_GOAL.seconds} s (${run.kind})`,
      measured,
      // The bound is on SQLite; PostgreSQL is reported.
      met: run.kind === 'sqlite' ? seconds < IMPORT_GOAL.seconds : undefined,
    })
    list.push({
      goal: `import memory flat (${run.kind}): no new high in the second half`,
      measured: `RSS ${n(run.rss.at10MiB)} / ${n(run.rss.at50MiB)} / ${n(run.rss.at100MiB)} MiB at 10 / 50 / 100% (${n(Math.round(growthPerRecord(run)))} bytes per record from 50 to 100%), halves' max ${n(run.rss.firstHalfMaxMiB)} → ${n(run.rss.secondHalfMaxMiB)} MiB`,
      met: flat(run),
    })
  }
  const logins = results.firstLogins
  const worst = logins.schemes.reduce((a, b) =>
    firstLoginRatio(logins, b) > firstLoginRatio(logins, a) ? b : a,
  )
  list.push({
    goal: 'first login with an imported hash ≤ its verify + one argon2id hash (+ login overhead)',
    measured: `worst ${worst.scheme}: ${ratio(firstLoginRatio(logins, worst))} (${ms(worst.first.p50)} ms vs ${ms(allowance(logins, worst))} ms)`,
    met: logins.schemes.every((s) => firstLoginRatio(logins, s) <= 1),
  })
  return list
}

function imports(results: ImportResults): string[] {
  const first = results.runs[0]
  if (!first) return []
  const mix = Object.entries(first.schemes)
    .map(([scheme, count]) => `${scheme} ${Math.round((100 * count) / first.records)}%`)
    .join(', ')
  const rows = results.runs.map((run) => [
    run.label,
    n(run.records),
    n(run.seconds),
    n(run.recordsPerSecond),
    n(Math.round(projectedSeconds(run))),
    n(run.cpuSeconds),
    `${n(run.rss.at10MiB)} / ${n(run.rss.at50MiB)} / ${n(run.rss.at100MiB)}`,
    n(Math.round(growthPerRecord(run))),
    n(run.rss.peakMiB),
    `${run.loadAverage.start.join(' ')} → ${run.loadAverage.end.join(' ')}`,
  ])
  return [
    `### Import: \`node src/cli.ts import FILE\`, ${n(first.records)} records`,
    '',
    `A JSON Lines file (${n(first.fileMiB)} MiB) of pre-hashed users with distinct logins and addresses, \`registered_at\` and \`email_verified\` (hashes: ${mix}; one string per scheme, reused, since an import checks a hash and never computes one), imported by the command as its own process with the service's default configuration on a fresh store: batches of 500 records, one transaction each, each user with its \`user.registered\` event (events and outbox rows). Timed from spawn to exit (start-up and migrations included); its VmRSS read from /proc every ${first.rss.sampleMs} ms. The in-file duplicate check keeps 16 bytes per key in a table at most half full (two keys a record: up to 64 bytes a record, by design); the rest of the growth is V8's heap and SQLite's caches.`,
    '',
    table(
      [
        'store',
        'records',
        'wall s',
        'records/s',
        's per 1,000,000',
        'CPU s',
        'RSS MiB at 10 / 50 / 100%',
        'bytes per record, 50 → 100%',
        'peak RSS MiB (VmHWM)',
        'load average start → end',
      ],
      rows,
    ),
    '',
  ]
}

function logins(l: FirstLogins): string[] {
  const rows = l.schemes.map((s) => [
    s.scheme,
    s.origin,
    `\`${s.stored}\``,
    `${ms(s.first.p50)} (${ms(s.first.max)})`,
    ms(s.second.p50),
    ms(s.rawVerify.p50),
    ms(s.rawVerify.p50 + l.rawArgon2.hash.p50),
    ms(allowance(l, s)),
    ratio(firstLoginRatio(l, s)),
  ])
  return [
    `### First logins with imported hashes (${l.store}, ${l.usersPerScheme} users per scheme)`,
    '',
    `Users imported with each scheme's hash log in twice, one request at a time on an established HTTPS connection: the first login verifies the foreign hash and replaces it with argon2id (checked afterwards: no foreign hash left), the second verifies that argon2id hash. Between them, the benchmark process does the same work alone with the same libraries (node:crypto pbkdf2, @node-rs/bcrypt, @node-rs/argon2), interleaved so that the machine's load weighs on both alike: the scheme's verify, one argon2id hash (p50 ${ms(l.rawArgon2.hash.p50)} ms) and one argon2id verify (p50 ${ms(l.rawArgon2.verify.p50)} ms) at the service's parameters. A login's own cost beyond its hash (HTTPS, JSON, the database, the tokens) is the second login's p50 less the raw argon2id verify: ${ms(l.overheadMs)} ms; a first login is allowed the scheme's verify + one argon2id hash + that overhead (the ratio's denominator). The service's hash threads run at nice ${l.threadNice} (\`HASH_THREAD_NICE\`), ${l.referencesNiced ? 'and so do the references (the benchmark process renices its own pool threads alike): when other work keeps both cores busy, both sides get the same share of them' : "the references at the benchmark's priority: when other work keeps both cores busy, the service's verify and hash get less of them than the references do"}. Load average ${l.loadAverage.start.join(' ')} → ${l.loadAverage.end.join(' ')}.`,
    '',
    table(
      [
        'scheme',
        'as shipped by',
        'stored as',
        'first login p50 (max) ms',
        'second login p50 ms',
        'raw verify p50 ms',
        'raw verify + argon2id hash ms',
        'allowed ms (+ overhead)',
        'first / allowed',
      ],
      rows,
    ),
    '',
  ]
}

/** The section of latest.md. */
export function importSection(results: ImportResults): string[] {
  return ['## Import and first logins', '', ...imports(results), ...logins(results.firstLogins)]
}

/** import.md: the section alone, with its machine and goals. */
export function importMarkdown(results: ImportResults, _: { standalone: true }): string {
  const m = results.machine
  const goals = importGoals(results).map((g) => [
    g.goal,
    g.measured,
    g.met === undefined ? 'reported' : g.met ? '**met**' : '**missed**',
  ])
  return [
    `# usersvc import benchmark (${results.mode} run, \`node bench/import.ts\`)`,
    '',
    m
      ? `**Machine:** ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Node.js ${m.node}, ${m.os}; ${m.date}; load average ${m.loadAverage.join(' ')} at the start (other work on the machine makes every figure noisy; each measurement below has its own). The run took ${n(results.seconds)} s.`
      : '',
    '',
    table(['goal', 'measured', 'result'], goals),
    '',
    ...importSection(results).slice(2),
    'Every figure: [import.json](import.json). The whole benchmark: [latest.md](latest.md).',
    '',
  ].join('\n')
}
