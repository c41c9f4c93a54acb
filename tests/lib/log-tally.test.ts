// lib/platform/log-tally.ts: repeated events cost a bounded number of lines per interval.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createLogger } from '#lib/platform/log.ts'
import { createLogTally } from '#lib/platform/log-tally.ts'

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

describe('a log tally', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('logs the first lines of each kind, counts the rest, and sums them up in one line per interval', () => {
    vi.useFakeTimers()
    const { log, lines } = capture()
    const tally = createLogTally(log, { intervalSeconds: 10, linesPerKind: 2 })
    for (let i = 0; i < 1000; i++) tally.note('refused', { event: 'refused', i }, 'refused')
    tally.note('aborted', { event: 'aborted' }, 'aborted')
    expect(lines().map((line) => [line.event, line.i])).toEqual([
      ['refused', 0],
      ['refused', 1],
      ['aborted', undefined],
    ])
    vi.advanceTimersByTime(10_000)
    expect(lines().slice(3)).toEqual([
      expect.objectContaining({
        level: 30,
        event: 'events_summarised',
        intervalSeconds: 10,
        counted: { refused: 998 },
      }),
    ])
    // a new interval starts afresh, and a quiet one writes nothing
    tally.note('refused', { event: 'refused', i: 'again' }, 'refused')
    vi.advanceTimersByTime(20_000)
    expect(
      lines()
        .slice(4)
        .map((line) => line.event),
    ).toEqual(['refused'])
    tally.stop()
  })
})
