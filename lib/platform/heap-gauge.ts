// Whether the V8 heap is close to its limit (npm start caps it at 64 MB): the HTTP server stops
// taking new bodies and extra connections then, instead of dying of "heap out of memory". Read
// on a timer rather than per connection, so a flood of connections does not pay for it. Leaving
// the short state waits for use to fall ten points below the threshold, so it does not flap.
import { getHeapStatistics } from 'node:v8'

/** How full the heap is, 0–1: what is used (live and not yet collected) over V8's limit. */
export type HeapReading = () => number

const readV8Heap: HeapReading = () => {
  const { used_heap_size: used, heap_size_limit: limit } = getHeapStatistics()
  return used / limit
}

export interface HeapGauge {
  /** True while the heap is at or above the threshold (until it falls ten points below it). */
  isShort(): boolean
  stop(): void
}

const SAMPLE_EVERY_MS = 250
const HYSTERESIS = 0.1

/** Samples the heap every 250 ms; `percent` is the threshold (HEAP_SHED_PERCENT). */
export function watchHeap(percent: number, read: HeapReading = readV8Heap): HeapGauge {
  const threshold = percent / 100
  let short = false
  const sample = () => {
    const used = read()
    short = short ? used >= threshold - HYSTERESIS : used >= threshold
  }
  sample()
  const timer = setInterval(sample, SAMPLE_EVERY_MS)
  timer.unref()
  return { isShort: () => short, stop: () => clearInterval(timer) }
}
