// A session's device in a few words ("Firefox on Windows") from the User-Agent it signed in with:
// a rough reading, good enough to tell one's devices apart.

/** @type {Array<[RegExp, string]>} first match wins: the Chromium family says "Chrome" and "Safari" too */
const BROWSERS = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bYaBrowser\//, 'Yandex Browser'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\b(Headless)?Chrome\/|\bCriOS\/|\bChromium\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/^curl\//, 'curl'],
]

/** @type {Array<[RegExp, string]>} */
const SYSTEMS = [
  [/\bWindows\b/, 'Windows'],
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
]

/**
 * @param {Array<[RegExp, string]>} table
 * @param {string} text
 */
function first(table, text) {
  return table.find(([pattern]) => pattern.test(text))?.[1] ?? null
}

/**
 * What a User-Agent says: the browser and the system when they are known, else the text itself
 * (cut short), else nothing.
 * @param {string | null} userAgent
 * @returns {{ browser: string | null, system: string | null, raw: string | null }}
 */
export function describeDevice(userAgent) {
  const text = (userAgent ?? '').trim()
  const browser = first(BROWSERS, text)
  const system = first(SYSTEMS, text)
  const known = browser !== null || system !== null
  const raw = !known && text !== '' ? (text.length > 60 ? `${text.slice(0, 59)}…` : text) : null
  return { browser, system, raw }
}
