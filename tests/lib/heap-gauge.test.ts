// lib/platform/heap-gauge.ts: short at the threshold, and not again until ten points below it.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { watchHeap } from '#lib/platform/heap-gauge.ts'

describe('the heap gauge', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('turns short at HEAP_SHED_PERCENT and back only ten points below it', () => {
    vi.useFakeTimers()
    const readings = [0.5, 0.79, 0.8, 0.75, 0.71, 0.69, 0.79]
    const gauge = watchHeap(80, () => readings.shift() ?? 0)
    const states = [gauge.isShort()]
    for (let i = 0; i < 6; i++) {
      vi.advanceTimersByTime(250)
      states.push(gauge.isShort())
    }
    expect(states).toEqual([false, false, true, true, true, false, false])
    gauge.stop()
  })

  it('reads the real V8 heap: a fresh test process is far from its limit', () => {
    const gauge = watchHeap(99)
    expect(gauge.isShort()).toBe(false)
    gauge.stop()
    const low = watchHeap(10, () => 0.5)
    expect(low.isShort()).toBe(true)
    low.stop()
  })
})
