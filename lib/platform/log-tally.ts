// Repeated events within a bound of log lines: a flood must not grow the log (on a gateway, an SD
// card) as fast as it sends. Per kind of event, the first few of each interval are logged as lines
// of their own (who, what); the rest are only counted, and one summary line per interval gives the
// counts. At most (kinds × linesPerKind + 1) lines per interval, whatever the rate.
import type { Logger } from 'pino'

export interface LogTally {
  /** Logs `fields` at info as its own line, or counts it once `kind` has had its lines this interval. */
  note(kind: string, fields: Record<string, unknown>, message: string): void
  /** Ends the interval: one `events_summarised` line if anything was only counted, then starts afresh. */
  flush(): void
  stop(): void
}

export interface TallyOptions {
  readonly intervalSeconds?: number
  readonly linesPerKind?: number
}

/** A tally writing to `log`, flushed every `intervalSeconds` (10 by default). */
export function createLogTally(log: Logger, { intervalSeconds = 10, linesPerKind = 5 }: TallyOptions = {}): LogTally {
  const seen = new Map<string, number>()
  const flush = () => {
    const counted = Object.fromEntries(
      [...seen].filter(([, count]) => count > linesPerKind).map(([kind, count]) => [kind, count - linesPerKind]),
    )
    seen.clear()
    if (Object.keys(counted).length) {
      log.info({ event: 'events_summarised', intervalSeconds, counted }, 'repeated events counted, not logged')
    }
  }
  const timer = setInterval(flush, intervalSeconds * 1000)
  timer.unref()
  return {
    note(kind, fields, message) {
      const count = (seen.get(kind) ?? 0) + 1
      seen.set(kind, count)
      if (count <= linesPerKind) log.info(fields, message)
    },
    flush,
    stop: () => clearInterval(timer),
  }
}
