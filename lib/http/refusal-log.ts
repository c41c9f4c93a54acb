// How many refusals reach the log (docs/security.md#logging). A refusal (any 4xx, and a 503 the
// service chose: its bcrypt pool full) is expected traffic, one line at info or warn without a
// stack; but a flood of them must not fill a gateway's SD card (issue 15: 11 MB in 35 s). So the
// lines come out of a bucket: REFUSAL_BURST_LINES at once, then one per REFUSAL_REFILL_MS. A
// refusal that finds the bucket empty is only counted, and the counts go out as one
// `refusals_summarized` line at most every SUMMARY_INTERVAL_MS. Whatever the request rate,
// refusals write at most the burst, then one line per 5 s plus one a minute.
import type { Logger } from 'pino'
import type { ProblemCode } from '../problem.ts'

export const REFUSAL_BURST_LINES = 100
export const REFUSAL_REFILL_MS = 5_000
export const SUMMARY_INTERVAL_MS = 60_000

export interface RefusalLogOptions {
  readonly burstLines: number
  readonly refillMs: number
  readonly summaryIntervalMs: number
}

export interface RefusalLog {
  /** True when the refusal at `nowMs` may have a line of its own; false: it was counted for the next summary. */
  admit(code: ProblemCode, nowMs: number): boolean
}

const DEFAULTS: RefusalLogOptions = {
  burstLines: REFUSAL_BURST_LINES,
  refillMs: REFUSAL_REFILL_MS,
  summaryIntervalMs: SUMMARY_INTERVAL_MS,
}

/** A refusal budget writing its summaries to `log`. */
export function createRefusalLog(log: Logger, options: RefusalLogOptions = DEFAULTS): RefusalLog {
  let lines = options.burstLines
  let refilledAt: number | undefined
  const unlogged = new Map<ProblemCode, number>()
  let summaryDue = false
  const summarize = () => {
    summaryDue = false
    const counts = Object.fromEntries(unlogged)
    unlogged.clear()
    log.info(
      { event: 'refusals_summarized', intervalSeconds: options.summaryIntervalMs / 1000, unlogged: counts },
      'refusals summarized',
    )
  }
  return {
    admit(code, nowMs) {
      if (refilledAt !== undefined) {
        lines = Math.min(options.burstLines, lines + (nowMs - refilledAt) / options.refillMs)
      }
      refilledAt = nowMs
      if (lines >= 1) {
        lines -= 1
        return true
      }
      unlogged.set(code, (unlogged.get(code) ?? 0) + 1)
      // a timer that does not keep the process (or a Lambda invocation) alive
      if (!summaryDue) setTimeout(summarize, options.summaryIntervalMs).unref()
      summaryDue = true
      return false
    },
  }
}

const refusalLogs = new WeakMap<Logger, RefusalLog>()

/** The refusal budget of a process logger, made on first use. */
export function refusalLogFor(log: Logger): RefusalLog {
  let refusals = refusalLogs.get(log)
  if (!refusals) refusalLogs.set(log, (refusals = createRefusalLog(log)))
  return refusals
}
