// `node bench/flood.ts [--connections 6000] [--peers 1] [--hold 8000] [--declared-bytes 16000]
// [--database-url postgres://…]`:
// the service as `npm start` runs it, under the half-sent-body connection flood of issue 15 (finding 1)
// on loopback, while another client asks GET /health every 100 ms. Prints whether the service
// survived, its peak RSS (VmHWM), /health statuses and latencies, and the load average. Without
// --database-url the embedded database (a fresh DATA_DIR) is used; the service's variables set in
// the environment (MAX_CONNECTIONS=…) are passed on. Loopback only, bounded.
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { floodService } from '../tests/helpers/connection-flood.ts'
import { createServerSchema, spawnService } from '../tests/helpers/service-process.ts'
import { startCommandArgs } from './process.ts'
import { ENVIRONMENT_VARIABLES } from '#lib/platform/config.ts'

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '6000' },
    peers: { type: 'string', default: '1' },
    hold: { type: 'string', default: '8000' },
    'declared-bytes': { type: 'string', default: '16000' },
    'database-url': { type: 'string' },
  },
})

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))] ?? 0

const dataDir = await mkdtemp(path.join(tmpdir(), 'ga-flood-'))
const schema = args['database-url'] ? await createServerSchema(args['database-url']) : undefined
const nodeFlags = (await startCommandArgs()).slice(0, -1)
// the service's settings set in this environment (MAX_CONNECTIONS=…) are passed on
const settings = Object.fromEntries(
  ENVIRONMENT_VARIABLES.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])),
)
const env = { ...settings, DATA_DIR: dataDir, ...(schema ? { DATABASE_URL: schema.url } : {}) }
const service = await spawnService(env, undefined, nodeFlags)
const peers = Array.from({ length: Number(args.peers) }, (_, i) => `127.0.${10 + Math.floor(i / 250)}.${1 + (i % 250)}`)
console.log(
  `load average before: ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}`,
)
try {
  const run = await floodService(service.pid, {
    port: service.port,
    count: Number(args.connections),
    from: peers,
    holdMs: Number(args.hold),
    declaredBytes: Number(args['declared-bytes']),
  })
  const exited = service.child.exitCode !== null || service.child.signalCode !== null
  // the refusals counted but not logged are summed up every 10 s: wait for the last summary
  await new Promise((resolve) => setTimeout(resolve, 10_500))
  const latencies = run.health.filter((probe) => probe.status === 200).map((probe) => probe.ms)
  const statuses: Record<number, number> = {}
  for (const probe of run.health) statuses[probe.status] = (statuses[probe.status] ?? 0) + 1
  const output = service.output()
  // what the service said: its own lines by event (and reason), plus what its summaries counted
  const events: Record<string, number> = {}
  for (const line of service.logLines()) {
    const kind = [line.event, line.reason].filter(Boolean).join(':')
    if (kind) events[kind] = (events[kind] ?? 0) + 1
    for (const [counted, n] of Object.entries((line.counted ?? {}) as Record<string, number>)) {
      events[`counted ${counted}`] = (events[`counted ${counted}`] ?? 0) + n
    }
  }
  const plainLines = output.split('\n').filter((line) => line && !line.startsWith('{'))
  console.log(
    JSON.stringify(
      {
        survived: !exited,
        flood: run.flood,
        // VmHWM once the flood is over; a dead process has none, so the largest RSS sampled during it
        peakRssMb: Math.round(
          (Number.isNaN(run.peakRssKb) ? Math.max(...run.rssKb.filter(Number.isFinite)) : run.peakRssKb) / 1024,
        ),
        health: {
          statuses,
          p50Ms: percentile(latencies, 50),
          p99Ms: percentile(latencies, 99),
          maxMs: Math.max(...latencies),
        },
        logLines: output.split('\n').length - 1,
        events,
        plainTextLogLines: plainLines.length,
        firstPlainLines: plainLines.slice(0, 3),
      },
      null,
      2,
    ),
  )
} finally {
  console.log(
    `load average after: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  )
  await service.stop()
  await rm(dataDir, { recursive: true, force: true })
  await schema?.drop()
}
