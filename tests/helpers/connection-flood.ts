// A half-sent-body connection flood against a service process (tests/helpers/half-sent-flood.ts,
// in a shell whose file-descriptor limit is raised), while another client (its
// own loopback address) asks GET /health every 100 ms and the service's memory is read from /proc.
// Used by tests/slow/connection-flood.test.ts, tests/http/connection-limits.test.ts and bench/flood.ts.
// No vitest here.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FloodOptions, FloodResult } from './half-sent-flood.ts'

const GENERATOR = fileURLToPath(new URL('./half-sent-flood.ts', import.meta.url))
const HEALTH_EVERY_MS = 100
const HEALTH_TIMEOUT_MS = 5_000

export interface HealthProbe {
  /** Status, or 0 when the request failed or timed out. */
  readonly status: number
  readonly ms: number
}

export interface FloodRun {
  readonly flood: FloodResult
  readonly health: HealthProbe[]
  /** VmHWM of the service process after the flood, in kB (the peak resident set since it started). */
  readonly peakRssKb: number
  /** VmRSS samples during the flood, in kB. */
  readonly rssKb: number[]
}

/** VmRSS and VmHWM of a process, in kB. */
export async function memoryOf(pid: number): Promise<{ rssKb: number; peakRssKb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { rssKb: field('VmRSS'), peakRssKb: field('VmHWM') }
}

/** One GET /health from `localAddress`, timed; status 0 if it failed or took over `timeoutMs`. */
export function probeHealth(port: number, localAddress: string, timeoutMs = HEALTH_TIMEOUT_MS): Promise<HealthProbe> {
  const started = performance.now()
  return new Promise((resolve) => {
    const done = (status: number) => resolve({ status, ms: Math.round(performance.now() - started) })
    const req = request({ host: '127.0.0.1', port, path: '/health', localAddress, agent: false }, (res) => {
      res.resume()
      res.on('end', () => done(res.statusCode ?? 0))
    })
    req.setTimeout(timeoutMs, () => req.destroy())
    req.on('error', () => done(0))
    req.end()
  })
}

/** Floods `port` as `options` says and watches the service `pid` until the generator has finished. */
export async function floodService(pid: number, options: FloodOptions, healthFrom = '127.0.0.2'): Promise<FloodRun> {
  const health: HealthProbe[] = []
  const rssKb: number[] = []
  let flooding = true
  const watching = (async () => {
    while (flooding) {
      health.push(await probeHealth(options.port, healthFrom))
      rssKb.push((await memoryOf(pid).catch(() => ({ rssKb: 0 }))).rssKb)
      await new Promise((resolve) => setTimeout(resolve, HEALTH_EVERY_MS))
    }
  })()
  const flood = await new Promise<FloodResult>((resolve, reject) => {
    // the generator's own descriptor limit, never the test runner's: 16384 (root may raise the hard
    // limit too), else as far as the hard limit goes
    const script = '{ ulimit -n 16384 || ulimit -n "$(ulimit -Hn)"; } 2>/dev/null; exec "$0" "$1" "$2"'
    execFile(
      'sh',
      ['-c', script, process.execPath, GENERATOR, JSON.stringify(options)],
      { cwd: path.dirname(GENERATOR), timeout: options.holdMs + 120_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    )
  }).finally(() => {
    flooding = false
  })
  await watching
  const { peakRssKb } = await memoryOf(pid).catch(() => ({ peakRssKb: Number.NaN }))
  return { flood, health, peakRssKb, rssKb }
}
