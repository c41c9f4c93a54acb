// The bcrypt pool: every hash and comparison runs in a worker thread (piscina), so the thread that
// answers /health, pages and dashboards never waits behind bcrypt (docs/decisions/011).
// Bounded twice, so a flood costs neither unbounded memory nor other clients' sign-ins:
//   - all clients together: the workers plus `queue` waiting tasks; past that 503 service_unavailable;
//   - one client (its address as throttling counts it): `perClient` tasks running or waiting;
//     past that 429 rate_limited.
// Threads start on the first task and stop after IDLE_MS without work: an idle service holds none.
// On AWS Lambda an execution environment serves one request at a time, so the work runs inline
// there (same bounds, no thread to start on a cold start, nothing for the bundle to leave out).
import type { Piscina } from 'piscina'
import type { HashTask } from './hash-worker.ts'
import type { Config } from '../platform/config.ts'
import { Problem } from '../problem.ts'
import { clientKey } from './throttle.ts'

export interface HashPoolOptions {
  /** Worker threads. */
  readonly workers: number
  /** Tasks that may wait for a worker, all clients together. */
  readonly queue: number
  /** Tasks one client may have running or waiting. */
  readonly perClient: number
  /** Run on the calling thread instead of worker threads (AWS Lambda). */
  readonly inline?: boolean
}

export interface HashPool {
  /** Runs `task` for `client`, or throws service_unavailable (pool full) / rate_limited (client's share used). */
  run<T extends HashTask>(task: T, client: string): Promise<T extends { op: 'hash' } ? string : boolean>
  /** Running plus waiting tasks: how busy the pool is. */
  readonly pending: number
  close(): Promise<void>
}

const IDLE_MS = 30_000
// a full pool drains in about (queue ÷ workers) comparisons, well under a second on x64
const FULL_RETRY_AFTER_SECONDS = 1
// the threads' module, beside this one and in its language: hash-worker.ts beside the source, and
// hash-worker.mjs beside the image's bundle (`npm run bundle`, docs/decisions/021). Written without './'
// so that lambda/package.ts, where the work runs inline, does not copy it as a folder the code reads.
const WORKER_FILE = new URL(`hash-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.mjs'}`, import.meta.url).href

export function createHashPool(options: HashPoolOptions): HashPool {
  // loaded with the first task: a start, a health check or a page never pays for piscina
  let piscina: Promise<Piscina> | undefined
  let pending = 0
  const perClient = new Map<string, number>()
  // First come, first served: piscina hands a worker that comes free to a task submitted at that
  // moment before the ones already in its queue, so under steady load one waiting sign-in could
  // wait for as long as the load lasted (measured: 40 s of 40). So piscina never gets more tasks
  // than it has workers, and the waiting happens here, in order.
  let running = 0
  const waiting: (() => void)[] = []
  const takeWorker = async () => {
    if (running < options.workers) running++
    else await new Promise<void>((resolve) => waiting.push(resolve))
  }
  // hands the worker straight to the longest-waiting task, or gives it back
  const releaseWorker = () => {
    const next = waiting.shift()
    if (next) next()
    else running--
  }

  const runInline = async (task: HashTask) => (await import('./hash-worker.ts')).default(task)
  const start = async () =>
    new (await import('piscina')).Piscina({
      filename: WORKER_FILE,
      minThreads: 0,
      maxThreads: options.workers,
      maxQueue: options.queue,
      idleTimeout: IDLE_MS,
      // bcrypt needs a few kilobytes: a small heap keeps each thread's share of RSS small
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    })

  return {
    async run(task, client) {
      const key = clientKey(client)
      const mine = perClient.get(key) ?? 0
      if (mine >= options.perClient) {
        throw new Problem('rate_limited', {
          detail: 'Too many sign-ins in progress from your address. Try again in 1 second.',
          headers: { 'retry-after': '1' },
        })
      }
      if (pending >= options.workers + options.queue) {
        throw new Problem('service_unavailable', { headers: { 'retry-after': String(FULL_RETRY_AFTER_SECONDS) } })
      }
      pending++
      perClient.set(key, mine + 1)
      try {
        await takeWorker()
        try {
          if (options.inline) return (await runInline(task)) as never
          piscina ??= start()
          return await (await piscina).run(task)
        } finally {
          releaseWorker()
        }
      } finally {
        pending--
        const left = perClient.get(key)! - 1
        if (left) perClient.set(key, left)
        else perClient.delete(key)
      }
    },
    get pending() {
      return pending
    },
    async close() {
      const closing = piscina
      piscina = undefined
      await (await closing)?.destroy()
    },
  }
}

const pools = new WeakMap<Config, HashPool>()

/** The pool of a runtime's configuration, made on first use (its threads start with the first task). */
export function hashPoolFor(runtime: { readonly config: Config }): HashPool {
  let pool = pools.get(runtime.config)
  if (!pool) {
    pool = createHashPool({ ...runtime.config.hashing, inline: runtime.config.platform === 'lambda' })
    pools.set(runtime.config, pool)
  }
  return pool
}
