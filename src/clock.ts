/** Time as a dependency, so tests can freeze it (token expiry, key retirement). */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }
