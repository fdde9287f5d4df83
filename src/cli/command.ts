import type { ParseArgsOptionsConfig } from 'node:util'
import type { Config } from '../config/index.ts'

/** What a command was given on its command line, after its name. */
export interface CommandInput {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>
  positionals: string[]
}

/** One `usersvc <command>`: its usage text, its options, and what it does. */
export interface Command {
  usage: string
  options?: ParseArgsOptionsConfig
  /** The exit code; -1 keeps the process running (serve). */
  run(input: CommandInput, config: Config): Promise<number>
}

export class UsageError extends Error {
  override name = 'UsageError'
}
