import type { Static, TObject, TProperties } from 'typebox'

/** The typed values of a section's variables, after defaults and conversion. */
export type EnvOf<T extends TProperties> = Static<TObject<T>>

/** A problem with one variable, by name: the message names the rule, never the value. */
export type EnvProblem = [name: string, message: string]

/** Comma-separated lists, trimmed, empties dropped. */
export const list = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
