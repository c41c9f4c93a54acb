// How many lines expected refusals may write (docs/security.md#a-bounded-log). A refused or evicted
// connection, a body refused before it was read, an aborted request, a 4xx or the 503 of a full
// bcrypt pool: each is expected traffic, one line without a stack, but a flood of them must not fill
// a gateway's SD card (issue 15: 11 MB in 35 s). So every such line, of every kind, asks one budget
// per process logger first. A line is written when
//   - its kind (say `connection_refused:heap`) has had fewer than `linesPerKind` lines in its
//     current interval, so one flooding kind cannot hide the first lines of another, and
//   - the shared bucket holds a line: `burstLines` at once, refilled one per `refillMs`,
//     so no mix of kinds, however many, writes faster than the bucket.
// Otherwise it is only counted, and the counts go out, by kind, as one `events_summarised` line
// `intervalMs` after the first one counted. Whatever the rate, refusal lines are at most
// `burstLines` at once, then one per `refillMs`, plus one summary per interval.
import type { Logger } from 'pino'

export interface LogBudgetOptions {
  readonly burstLines: number
  readonly refillMs: number
  readonly linesPerKind: number
  readonly intervalMs: number
}

// A fifth of the burst per kind: one flooding kind leaves most of it to the first lines of others,
// and an ordinary run of one refusal (a user mistyping, a test) is still logged line by line.
export const LOG_BUDGET: LogBudgetOptions = { burstLines: 100, refillMs: 5_000, linesPerKind: 20, intervalMs: 10_000 }

export interface LogBudget {
  /** True when a line of `kind` at `nowMs` may be written; false: it was counted for the next summary. */
  admit(kind: string, nowMs: number): boolean
  /** Writes the pending summary now (a server closing), if anything was counted. */
  flush(): void
}

/** A budget writing its summaries to `log`. */
export function createLogBudget(log: Logger, options: LogBudgetOptions = LOG_BUDGET): LogBudget {
  let lines = options.burstLines
  let refilledAt: number | undefined
  // per kind: when its interval began and how many lines it has had in it
  const kinds = new Map<string, { since: number; lines: number }>()
  const counted = new Map<string, number>()
  let summary: NodeJS.Timeout | undefined
  const flush = () => {
    clearTimeout(summary)
    summary = undefined
    if (!counted.size) return
    const counts = Object.fromEntries(counted)
    counted.clear()
    log.info(
      { event: 'events_summarised', intervalSeconds: options.intervalMs / 1000, counted: counts },
      'repeated events counted, not logged',
    )
  }
  const kindHasRoom = (kind: string, nowMs: number) => {
    let seen = kinds.get(kind)
    if (!seen || nowMs - seen.since >= options.intervalMs) kinds.set(kind, (seen = { since: nowMs, lines: 0 }))
    return seen.lines < options.linesPerKind ? seen : undefined
  }
  return {
    admit(kind, nowMs) {
      if (refilledAt !== undefined) {
        lines = Math.min(options.burstLines, lines + (nowMs - refilledAt) / options.refillMs)
      }
      refilledAt = nowMs
      const seen = kindHasRoom(kind, nowMs)
      if (seen && lines >= 1) {
        lines -= 1
        seen.lines += 1
        return true
      }
      counted.set(kind, (counted.get(kind) ?? 0) + 1)
      // a timer that does not keep the process (or a Lambda invocation) alive
      summary ??= setTimeout(flush, options.intervalMs).unref()
      return false
    },
    flush,
  }
}

const budgets = new WeakMap<Logger, LogBudget>()

/** The budget of a process logger, made on first use: every refusal line of the process shares it. */
export function logBudgetFor(log: Logger): LogBudget {
  let budget = budgets.get(log)
  if (!budget) budgets.set(log, (budget = createLogBudget(log)))
  return budget
}
