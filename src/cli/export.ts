import { open } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { exportUsers } from '../transfer/export.ts'
import { type Command, UsageError } from './command.ts'
import { withStore } from './store.ts'

const usage = `usage: usersvc export [--out FILE]

Writes every user as JSON Lines (id, login, email, email_verified, role, registered_at,
password_hash) to FILE, or to standard output. The file is made readable by its owner only
(0600): it holds password hashes. \`usersvc import\` takes it back.`

export const exportCommand: Command = {
  usage,
  options: { out: { type: 'string' } },
  async run({ values, positionals }, config) {
    if (positionals.length > 0) throw new UsageError(usage)
    const out = typeof values.out === 'string' ? values.out : undefined
    process.stderr.write(
      `usersvc: warning: ${out ?? 'the output'} holds password hashes: keep it private, and delete it once imported\n`,
    )
    const count = await withStore(config, async (store) => {
      let lines = 0
      const counted = Readable.from(
        (async function* () {
          for await (const line of exportUsers(store.db)) {
            lines++
            yield line
          }
        })(),
      )
      if (!out) {
        await pipeline(counted, process.stdout, { end: false })
        return lines
      }
      // 0600 from its creation; an existing file is cut down to its owner too before it is written.
      const handle = await open(out, 'w', 0o600)
      try {
        await handle.chmod(0o600)
      } catch (error) {
        await handle.close()
        throw error
      }
      // The stream closes the handle when it ends or fails.
      await pipeline(counted, handle.createWriteStream())
      return lines
    })
    process.stderr.write(
      `usersvc: exported ${count} user${count === 1 ? '' : 's'}${out ? ` to ${out}` : ''}\n`,
    )
    return 0
  },
}
