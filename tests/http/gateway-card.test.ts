// The gateway card as a LoRaWAN gateway's, over HTTP on a real service: the EUI, the forwarder's
// settings without a key, and the device's services from a stand-in balena Supervisor
// (tests/helpers/fake-supervisor.ts): running, stopped, refusing the key, silent. Each answers 200 with one clear
// line in the card, and JSON that matches docs/openapi.json. The readings are cached for a few
// seconds; the clock (Date only) moves on between scenarios so each one is read afresh.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { readSupervisor } from '#lib/gateway/balena-supervisor.ts'
import { useService, type Account } from '../helpers/service.ts'
import { expectNoSecrets } from '../helpers/expect.ts'
import { expectConforms } from '../helpers/openapi.ts'
import { startFakeSupervisor, type FakeSupervisor } from '../helpers/fake-supervisor.ts'
import type { CookieJar } from '../helpers/http.ts'

const LNS_KEY = 'NNSXS.LNSKEY7Q2ZK.DO-NOT-SHOW'
const PERSONAL_KEY = 'NNSXS.PERSONAL9X.DO-NOT-SHOW'
const FLEET = {
  GATEWAY_EUI: 'aa555a0000000101',
  MODEL: 'RAK7248',
  SERVER_HOST: 'eu1.cloud.thethings.network',
  SERVER_PORT: '1700',
  BAND: 'eu_863_870',
  CS_TOKEN: LNS_KEY,
  TTS_PERSONAL_KEY: PERSONAL_KEY,
}

const s = useService()
let supervisor: FakeSupervisor
let account: Account
let jar: CookieJar
let token: string
const savedEnv = { ...process.env }
let clock = Date.now()

beforeAll(async () => {
  supervisor = await startFakeSupervisor()
  account = await s.register('lora')
  jar = await s.browserLogin(account)
  token = await s.apiLogin(account)
  vi.useFakeTimers({ toFake: ['Date'] })
})
afterAll(async () => {
  vi.useRealTimers()
  process.env = savedEnv
  await supervisor?.close()
})

/**
 * The card and the JSON as they are now, read afresh (the clock moves past both caches). `settle`
 * lets the supervisor's answer into the cache first, so a busy machine cannot turn a slow answer
 * into "no answer in time" (that case has tests of its own, without it).
 */
async function readCard(env: Record<string, string>, { settle = true } = {}) {
  process.env = { ...savedEnv, ...FLEET, ...env }
  clock += 11_000
  vi.setSystemTime(clock)
  if (settle) await readSupervisor(process.env, new Date(clock), { waitMs: 30_000 })
  const html = await s.http.getHtml(`/dashboard/${account.username}`, { jar })
  const json = await s.dashboard(account.username, token)
  expect([html.status, json.status]).toEqual([200, 200])
  expectConforms('GET', '/dashboard/{username}', json)
  for (const reply of [html, json]) expectNoSecrets(reply.text, [LNS_KEY, PERSONAL_KEY, supervisor.apiKey])
  const card = html.text.slice(html.text.indexOf('<section class="card gateway"'), html.text.indexOf('</section>'))
  return {
    card,
    lorawan: json.json.gateway.lorawan,
    summary: /class="status[^"]*">.*?<\/span>([^<]*)/.exec(card)?.[1],
  }
}

describe('the gateway card of a LoRaWAN gateway', () => {
  it('shows the EUI from GATEWAY_EUI as selectable text, the forwarder’s settings, never a key', async () => {
    const { card, lorawan } = await readCard(supervisor.env)
    expect(card).toContain('<code id="gateway-eui" data-copy>AA555A0000000101</code>')
    expect(card).toContain('from GATEWAY_EUI')
    expect(card).toMatch(/<dt>Network server<\/dt>\s*<dd>eu1\.cloud\.thethings\.network:1700/)
    expect(card).toMatch(/<dt>Keys<\/dt>\s*<dd>TTS_PERSONAL_KEY, CS_TOKEN set/)
    expect(lorawan).toMatchObject({
      gateway_eui: 'AA555A0000000101',
      gateway_eui_source: { kind: 'environment', interface: null },
      forwarder: {
        protocol: 'udp',
        model: 'RAK7248',
        band: 'eu_863_870',
        credentials_set: ['TTS_PERSONAL_KEY', 'CS_TOKEN'],
      },
    })
  })

  it('lists the services; a running forwarder needs no attention', async () => {
    supervisor.mode = 'ok'
    supervisor.services = [
      { serviceName: 'udp-packet-forwarder', status: 'Running' },
      { serviceName: 'gateway-auth', status: 'Running' },
    ]
    const { card, lorawan, summary } = await readCard(supervisor.env)
    expect(summary).not.toContain('packet forwarder')
    expect(card).toMatch(/udp-packet-forwarder<small>packet forwarder<\/small><\/span>\s*<span class="state">running/)
    expect(lorawan.forwarder).toMatchObject({ service: 'udp-packet-forwarder', state: 'running' })
    expect(lorawan.supervisor).toMatchObject({
      state: 'ok',
      services: [
        { name: 'udp-packet-forwarder', state: 'running' },
        { name: 'gateway-auth', state: 'running' },
      ],
      device: { os_version: 'balenaOS 6.5.12', supervisor_version: '17.1.3', status: 'Idle', update_pending: false },
    })
  })

  it('a stopped forwarder is the first thing the card says', async () => {
    supervisor.services = [
      { serviceName: 'udp-packet-forwarder', status: 'exited' },
      { serviceName: 'gateway-auth', status: 'Running' },
    ]
    const { card, lorawan, summary } = await readCard(supervisor.env)
    expect(summary).toMatch(/^Needs attention: the packet forwarder is not running/)
    expect(card).toContain('<p class="status bad">')
    expect(lorawan.forwarder).toMatchObject({ service: 'udp-packet-forwarder', state: 'exited' })
  })

  // each reading's line: tests/lib/lorawan-view.test.ts; each failure's reading: tests/lib/balena-supervisor.test.ts
  it('a supervisor that refuses the key: the card says so in one line, the JSON why, and the page is still a 200', async () => {
    const { card, lorawan } = await readCard({ ...supervisor.env, BALENA_SUPERVISOR_API_KEY: 'revoked-key' })
    expect(card).toContain('<p class="services-line">Supervisor not reachable: it refused the API key.</p>')
    expect(lorawan.supervisor).toEqual({ state: 'unreachable', reason: 'refused' })
    expect(lorawan.gateway_eui).toBe('AA555A0000000101')
  })

  it('one that never answered: "no answer in time", and the page does not wait for it', async () => {
    const silent = await startFakeSupervisor()
    try {
      silent.mode = 'hang'
      const { card, lorawan } = await readCard(silent.env, { settle: false })
      // answered although the supervisor answers nothing until it is closed
      await expect.poll(() => silent.requests.length).toBe(2)
      expect(card).toContain('<p class="services-line">Supervisor not reachable: no answer in time.</p>')
      expect(lorawan.supervisor).toEqual({ state: 'unreachable', reason: 'timeout' })
    } finally {
      await silent.close()
    }
  })
})
