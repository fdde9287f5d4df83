import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer from 'nodemailer'
import { v7 as uuidv7 } from 'uuid'
import { message, type Transport } from './transport.ts'

/**
 * Each message as an .eml file (RFC 5322, as an SMTP server would receive it) under `dir`,
 * readable by its owner only (it may hold a code); `written` is told the file and the address.
 */
export function fileTransport(
  dir: string,
  from: string,
  written: (file: string, to: string) => void,
): Transport {
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true })
  return {
    async send(mail) {
      const info = await builder.sendMail(message(mail, from))
      await mkdir(dir, { recursive: true, mode: 0o700 })
      // Sorted by name is sorted by time; the uuid's random tail keeps names apart.
      const stamp = new Date().toISOString().replace(/[:.]/g, '-')
      const file = join(dir, `${stamp}-${uuidv7().slice(-12)}.eml`)
      // A new file ('wx'): the umask can only take bits away from 0600.
      await writeFile(file, info.message as Buffer, { mode: 0o600, flag: 'wx' })
      written(file, mail.to)
    },
    close: () => builder.close(),
  }
}
