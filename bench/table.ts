// The bench's results as the README's markdown table: one row per measure, one column per
// database, the target and whether this run met it (ratios within this run, as the targets are).
type Load = { rps: number; p50: number; p99: number; other: Record<string, number> }
type Logins = { login: Load; health: Load; compareMs: number; physicalLimitPerSecond: number }
type Db = {
  coldStartFirstMs: number
  coldStartMs: number
  /** The bare Express hello's, median of as many starts taken in turn with the service's. */
  helloColdStartMs: number
  rssIdleMb: number
  rssAfterLoadMb: number
  rssPeakMb: number
  rssPeakCoresPoolMb: number
  postgresPssMb?: number
  registrations: Load
  defaultPool: Logins
  coresPool: Logins
  flood: { signIns: Record<string, number>; health: Record<string, number>; healthP99Ms: number; healthMaxMs: number }
  /** helloRps: the bare Express hello's, the mean of its runs just before and just after these. */
  dashboard: { bearer: Load; cookie: Load; account?: Load; helloRps?: number }
  dashboardUncached: Load
  revocation?: {
    tries: number
    withinTarget: number
    p50Ms: number
    maxMs: number
    neverRefused: number
    acceptedAfterRefusal: number
  }
}
export type Results = {
  machine: { cpu?: string; cores: number; memoryGb: number; arch: string; node: string }
  startCommand: string
  bcryptCompareMs: number
  physicalLimitPerSecond: number
  helloExpress?: { coldStartMs: number; rssIdleMb: number; rssPeakMb: number; load: Load }
  server?: Db
  embedded?: Db
}

const pct = (n: number) => `${Math.round(n * 100)} %`
const others = (load: Load) => {
  const refused = Object.entries(load.other).map(([code, count]) => `${count}×${code}`)
  return refused.length ? ` (${refused.join(', ')})` : ''
}
const mark = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'yes' : '**no**')

export function table(r: Results): string {
  const limit = r.physicalLimitPerSecond
  const hello = r.helloExpress?.load.rps ?? NaN
  const dbs = (['server', 'embedded'] as const).filter((kind) => r[kind])
  type Row = [label: string, value: (d: Db) => string, target: string, met: (d: Db) => boolean | undefined]
  const login = (l: Logins) =>
    `${l.login.rps} of ${l.physicalLimitPerSecond} (t = ${l.compareMs} ms): ${pct(l.login.rps / l.physicalLimitPerSecond)}${others(l.login)}`
  // a share is of the hello measured beside the loads (the machine's speed drifts over a run's minutes)
  const helloBeside = (d: Db) => d.dashboard.helloRps ?? hello
  const view = (l: Load, d: Db) => `${l.rps} (${pct(l.rps / helloBeside(d))}), ${l.p99} ms${others(l)}`
  const fastView = (l: Load, d: Db) => l.rps >= 0.2 * helloBeside(d) && l.p99 <= 15
  const none = () => undefined
  const rows: Row[] = [
    [
      'sign-ins/s, pool = cores, of the physical limit (cores ÷ t, t timed around the run)',
      (d) => login(d.coresPool),
      '≥ 90 %',
      (d) => d.coresPool.login.rps >= 0.9 * d.coresPool.physicalLimitPerSecond,
    ],
    ['sign-ins/s, default pool, of the physical limit', (d) => login(d.defaultPool), '', none],
    ['sign-in p50 / p99, pool = cores', (d) => `${d.coresPool.login.p50} / ${d.coresPool.login.p99} ms`, '', none],
    [
      '`/health` p50 / p99 while sign-ins saturate the pool (cores; default)',
      (d) =>
        `${d.coresPool.health.p50} / ${d.coresPool.health.p99} ms; ${d.defaultPool.health.p50} / ${d.defaultPool.health.p99} ms`,
      'p99 ≤ 25 ms',
      (d) => Math.max(d.coresPool.health.p99, d.defaultPool.health.p99) <= 25,
    ],
    [
      '`/health` under 3 × 50 concurrent correct sign-ins: answers, p99, max',
      (d) => `${JSON.stringify(d.flood.health)}, ${d.flood.healthP99Ms} ms, ${d.flood.healthMaxMs} ms`,
      'no 503',
      (d) => Object.keys(d.flood.health).every((code) => code === '200'),
    ],
    ['… those sign-ins answered', (d) => JSON.stringify(d.flood.signIns), '', none],
    [
      'dashboard JSON, Bearer: req/s (of the Express hello beside it), p99',
      (d) => view(d.dashboard.bearer, d),
      '≥ 20 %, p99 ≤ 15 ms',
      (d) => fastView(d.dashboard.bearer, d),
    ],
    [
      'dashboard JSON, cookie: req/s (of the Express hello beside it), p99',
      (d) => view(d.dashboard.cookie, d),
      '≥ 20 %, p99 ≤ 15 ms',
      (d) => fastView(d.dashboard.cookie, d),
    ],
    [
      '`GET /account` JSON, Bearer: req/s (of the Express hello beside it), p99',
      (d) => (d.dashboard.account ? view(d.dashboard.account, d) : '—'),
      '',
      none,
    ],
    [
      '… dashboard, Bearer, with the session cache off (SESSION_CACHE_ENTRIES=0)',
      (d) => view(d.dashboardUncached, d),
      '',
      none,
    ],
    [
      'revocation: sign-out at A, then the token at B: refused within 50 ms / tries; p50, max; accepted after',
      (d) => {
        const v = d.revocation
        if (!v) return '— (one instance only)'
        return `${v.withinTarget} / ${v.tries}; ${v.p50Ms}, ${v.maxMs} ms; ${v.acceptedAfterRefusal + v.neverRefused}`
      },
      'all, 0 after',
      (d) =>
        d.revocation
          ? d.revocation.withinTarget === d.revocation.tries &&
            d.revocation.acceptedAfterRefusal + d.revocation.neverRefused === 0
          : undefined,
    ],
    ['registrations/s (default pool)', (d) => `${d.registrations.rps}${others(d.registrations)}`, '', none],
    [
      'service RSS idle / after load / peak',
      (d) => `${d.rssIdleMb} / ${d.rssAfterLoadMb} / ${d.rssPeakMb} MB`,
      '≤ 90 / — / ≤ 150 MB',
      (d) => d.rssIdleMb <= 90 && d.rssPeakMb <= 150,
    ],
    [
      'service RSS peak, pool = cores',
      (d) => `${d.rssPeakCoresPoolMb} MB`,
      '≤ 150 MB',
      (d) => d.rssPeakCoresPoolMb <= 150,
    ],
    [
      'embedded PostgreSQL (all its processes, PSS)',
      (d) => (d.postgresPssMb === undefined ? '—' : `${d.postgresPssMb} MB`),
      '',
      none,
    ],
    [
      "cold start, spawn → first 200: first start / later, median (× the hello's, median)",
      (d) =>
        `${d.coldStartFirstMs} / ${d.coldStartMs} ms (hello ${d.helloColdStartMs} ms: ` +
        `${(d.coldStartMs / d.helloColdStartMs).toFixed(2)} ×)`,
      '≤ 1.5 × the hello server, ≤ 600 ms warm embedded',
      (d) => (d === r.server ? d.coldStartMs <= 1.5 * d.helloColdStartMs : d.coldStartMs <= 600),
    ],
  ]
  const m = r.machine
  const h = r.helloExpress
  const cells = (value: (d: Db) => string) => dbs.map((kind) => value(r[kind]!)).join(' | ')
  const lines = [
    `Machine: ${m.cpu ?? 'unknown CPU'}, ${m.cores} cores, ${m.memoryGb} GB, ${m.arch}, Node ${m.node}. ` +
      `Start command: \`${r.startCommand}\`.`,
    `One bcrypt compare (cost 10): ${r.bcryptCompareMs} ms → physical limit ${m.cores} ÷ t = ${limit} sign-ins/s.`,
    h
      ? `Bare Express 5 hello: ${hello} req/s (p99 ${h.load.p99} ms), cold start ${h.coldStartMs} ms, ` +
        `RSS idle ${h.rssIdleMb} MB, peak ${h.rssPeakMb} MB. Beside the authenticated loads: ` +
        dbs.map((kind) => `${helloBeside(r[kind]!)} req/s (${kind})`).join(', ') +
        '; their shares are of that.'
      : '',
    '',
    `| measure | ${dbs.map((kind) => `${kind} database`).join(' | ')} | target | met (${dbs.join(' / ')}) |`,
    `| --- | ${dbs.map(() => '---').join(' | ')} | --- | --- |`,
    ...rows.map(([label, value, target, met]) => {
      const verdict = target ? dbs.map((kind) => mark(met(r[kind]!))).join(' / ') : ''
      return `| ${label} | ${cells(value)} | ${target} | ${verdict} |`
    }),
  ]
  return lines.join('\n')
}
