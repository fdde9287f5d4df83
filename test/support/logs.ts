// The service's JSON log lines, and waiting for the line of one request.
import { eventually } from './eventually.ts'

export interface LogLine {
  level?: number
  msg?: string
  method?: string
  url?: string
  status?: number
  ip?: string
  signal?: string
}

export function parsed(line: string): LogLine {
  return JSON.parse(line) as LogLine
}

/** The request lines among `lines` (one per answered request). */
export function requestLines(lines: string[]): LogLine[] {
  return lines.map(parsed).filter((l) => l.msg === 'request')
}

/** Waits for the service's request log line for `url` (the line is written after the reply). */
export function logged(lines: string[], url: string): Promise<LogLine> {
  return eventually(() => requestLines(lines).find((l) => l.url === url), {
    what: `request log line for ${url}\n${lines.join('\n')}`,
  })
}
