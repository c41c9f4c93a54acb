// lib/platform/log-budget.ts with a real pino logger: refusal lines of every kind share one bucket,
// each kind gets its first lines per interval, and the rest are counted into one summary line.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createLogger } from '#lib/platform/log.ts'
import { createLogBudget } from '#lib/platform/log-budget.ts'

function capture() {
  let text = ''
  const log = createLogger('info', { write: (chunk: string) => void (text += chunk) })
  const lines = () =>
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  return { log, lines }
}

/** Whether each of `kinds` at `nowMs` was admitted. */
const admitAll = (budget: ReturnType<typeof createLogBudget>, kinds: readonly string[], nowMs = 0) =>
  kinds.map((kind) => budget.admit(kind, nowMs))

describe('the log budget', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('admits the first lines of each kind, counts the rest, and sums them up in one line per interval', () => {
    vi.useFakeTimers()
    const { log, lines } = capture()
    const budget = createLogBudget(log, { burstLines: 100, refillMs: 5000, linesPerKind: 2, intervalMs: 10_000 })
    const refused = admitAll(budget, Array(1000).fill('refused'))
    expect(refused.slice(0, 3)).toEqual([true, true, false])
    expect(refused.filter(Boolean)).toHaveLength(2)
    // a flooding kind does not hide the first line of another
    expect(budget.admit('aborted', 0)).toBe(true)
    expect(lines()).toEqual([])
    vi.advanceTimersByTime(10_000)
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 30,
        event: 'events_summarised',
        intervalSeconds: 10,
        counted: { refused: 998 },
      }),
    ])
    // a new interval starts afresh, and a quiet one writes nothing
    expect(budget.admit('refused', 10_000)).toBe(true)
    vi.advanceTimersByTime(20_000)
    expect(lines()).toHaveLength(1)
  })

  it('bounds all kinds together by one bucket, counting by kind, and refills one line per refill time', () => {
    vi.useFakeTimers()
    const { log, lines } = capture()
    const budget = createLogBudget(log, { burstLines: 3, refillMs: 1000, linesPerKind: 5, intervalMs: 50 })
    const kinds = [...Array(8).fill('request_refused:rate_limited'), 'connection_refused:heap', 'request_aborted']
    expect(admitAll(budget, kinds)).toEqual([true, true, true, false, false, false, false, false, false, false])
    vi.advanceTimersByTime(50)
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 30,
        event: 'events_summarised',
        intervalSeconds: 0.05,
        counted: { 'request_refused:rate_limited': 5, 'connection_refused:heap': 1, request_aborted: 1 },
      }),
    ])
    // 2.5 s later two and a half lines came back: two are admitted, the third is counted
    expect(admitAll(budget, ['a', 'b', 'c'], 2500)).toEqual([true, true, false])
  })

  it('writes no more than the burst under a flood of a hundred kinds, and flushes its counts on demand', () => {
    const { log, lines } = capture()
    const budget = createLogBudget(log, { burstLines: 10, refillMs: 5000, linesPerKind: 5, intervalMs: 10_000 })
    const kinds = Array.from({ length: 1000 }, (_, i) => `kind:${i % 100}`)
    expect(admitAll(budget, kinds).filter(Boolean)).toHaveLength(10)
    budget.flush()
    const [summary, ...rest] = lines()
    expect(rest).toEqual([])
    expect(Object.values(summary?.counted as Record<string, number>).reduce((a, b) => a + b)).toBe(990)
  })
})
