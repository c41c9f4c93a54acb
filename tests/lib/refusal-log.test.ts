// The refusal budget (lib/http/refusal-log.ts) with a real pino logger and short intervals: a
// burst gets its lines, the rest are counted into one summary line, and the budget refills with time.
import { describe, expect, it } from 'vitest'
import { createLogger } from '#lib/platform/log.ts'
import { createRefusalLog } from '#lib/http/refusal-log.ts'

describe('the refusal budget', () => {
  it('admits a burst, counts the rest into one summary line per interval, and refills one line per refill time', async () => {
    let text = ''
    const log = createLogger('info', { write: (chunk: string) => void (text += chunk) })
    const refusals = createRefusalLog(log, { burstLines: 3, refillMs: 1000, summaryIntervalMs: 50 })
    const codes = [...Array(8).fill('rate_limited'), 'service_unavailable', 'service_unavailable'] as const
    const admitted = codes.map((code) => refusals.admit(code, 0))
    expect(admitted).toEqual([true, true, true, false, false, false, false, false, false, false])
    expect(text).toBe('')
    await new Promise((resolve) => setTimeout(resolve, 120))
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        event: 'refusals_summarized',
        intervalSeconds: 0.05,
        unlogged: { rate_limited: 5, service_unavailable: 2 },
      }),
    ])
    // 2.5 s later two and a half lines came back: two are admitted, the third is counted
    expect([2500, 2500, 2500].map((now) => refusals.admit('not_found', now))).toEqual([true, true, false])
  })
})
