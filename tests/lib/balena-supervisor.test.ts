// The supervisor client against a stand-in that answers the documented endpoints and shapes
// (tests/helpers/fake-supervisor.ts), and in each of its failure modes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { askSupervisor, readSupervisor, SUPERVISOR_CACHE_SECONDS } from '#lib/gateway/balena-supervisor.ts'
import { freePort } from '../helpers/service-process.ts'
import {
  FORWARDER_RUNNING,
  startFakeSupervisor,
  type FakeSupervisor,
  type FakeSupervisorMode,
} from '../helpers/fake-supervisor.ts'

let supervisor: FakeSupervisor
beforeAll(async () => {
  supervisor = await startFakeSupervisor()
})
afterAll(() => supervisor.close())
beforeEach(() => {
  supervisor.mode = 'ok'
  supervisor.services = FORWARDER_RUNNING.map((service) => ({ ...service }))
  supervisor.requests.length = 0
})

const NOW = new Date('2026-12-06T18:00:00Z')
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000)

describe('askSupervisor', () => {
  it('reads each service’s state from /v2/state/status and the device from /v1/device, with the apikey', async () => {
    supervisor.services = [
      { serviceName: 'udp-packet-forwarder', status: 'exited' },
      { serviceName: 'gateway-auth', status: 'Running' },
      { serviceName: 'bridge', status: 'Downloading' },
      { serviceName: 'odd', status: 'Something new' },
    ]
    expect(await askSupervisor(supervisor.address, supervisor.apiKey, NOW)).toEqual({
      state: 'ok',
      readAt: NOW,
      services: [
        { name: 'udp-packet-forwarder', state: 'exited' },
        { name: 'gateway-auth', state: 'running' },
        { name: 'bridge', state: 'downloading' },
        { name: 'odd', state: 'unknown' },
      ],
      device: { status: 'Idle', osVersion: 'balenaOS 6.5.12', supervisorVersion: '17.1.3', updatePending: false },
    })
    expect(supervisor.requests.sort()).toEqual([
      `/v1/device?apikey=${supervisor.apiKey}`,
      `/v2/state/status?apikey=${supervisor.apiKey}`,
    ])
  })

  it.each<[string, { mode?: FakeSupervisorMode; key?: string; nothingListening?: true }, string]>([
    ['a wrong API key (401)', { key: 'wrong-key' }, 'refused'],
    ['a 500', { mode: 'error' }, 'error'],
    ['a body that is not JSON', { mode: 'garbage' }, 'garbage'],
    ['no answer', { mode: 'hang' }, 'timeout'],
    ['nothing listening', { nothingListening: true }, 'network'],
  ])('%s → unreachable, reason %s', async (_name, arrange, reason) => {
    supervisor.mode = arrange.mode ?? 'ok'
    const address = arrange.nothingListening ? `http://127.0.0.1:${await freePort()}` : supervisor.address
    // a short timeout only where nothing will answer: a busy machine must not turn a 500 into a timeout
    const timeoutMs = arrange.mode === 'hang' ? 300 : 10_000
    const reading = await askSupervisor(address, arrange.key ?? supervisor.apiKey, NOW, timeoutMs)
    supervisor.releaseHeld()
    expect(reading).toEqual({ state: 'unreachable', reason })
  })

  it('JSON of the wrong shape is garbage too', async () => {
    supervisor.services = [{ serviceName: 42 as unknown as string, status: 'Running' }]
    expect(await askSupervisor(supervisor.address, supervisor.apiKey, NOW)).toEqual({
      state: 'unreachable',
      reason: 'garbage',
    })
  })
})

describe('readSupervisor', () => {
  it('off balena, and on balena without the label: says so and asks nothing', async () => {
    expect(await readSupervisor({}, NOW)).toEqual({ state: 'off_balena' })
    expect(await readSupervisor({ BALENA: '1' }, NOW)).toEqual({ state: 'no_api' })
    expect(supervisor.requests).toEqual([])
  })

  it('keeps a reading for a few seconds, then asks again', async () => {
    // a supervisor of its own: the cache is per address
    const own = await startFakeSupervisor()
    // waiting as long as it takes: the cache is what this tests, not the short wait of a page
    const patient = { waitMs: 30_000 }
    try {
      const first = await readSupervisor(own.env, NOW, patient)
      expect(first.state).toBe('ok')
      expect(await readSupervisor(own.env, later(SUPERVISOR_CACHE_SECONDS - 1), patient)).toBe(first)
      expect(own.requests).toHaveLength(2)
      own.services = [{ serviceName: 'basicstation', status: 'restarting' }]
      const next = await readSupervisor(own.env, later(SUPERVISOR_CACHE_SECONDS), patient)
      expect(next).toMatchObject({ services: [{ name: 'basicstation', state: 'restarting' }] })
      expect(own.requests).toHaveLength(4)
    } finally {
      await own.close()
    }
  })

  it('never waits on a supervisor that does not answer: "no answer" first, the last reading after', async () => {
    const own = await startFakeSupervisor()
    try {
      own.mode = 'hang'
      const waiting = await readSupervisor(own.env, NOW, { waitMs: 20, timeoutMs: 60_000 })
      // answered although the supervisor answers nothing until released (and the request timeout is a minute)
      expect(waiting).toEqual({ state: 'unreachable', reason: 'timeout' })
      await expect.poll(() => own.requests.length).toBe(2)
      // one request at a time: a second page does not pile more onto a hanging supervisor
      await readSupervisor(own.env, NOW, { waitMs: 20 })
      expect(own.requests).toHaveLength(2)
      own.releaseHeld()
      await expect
        .poll(() => readSupervisor(own.env, NOW, { waitMs: 20 }))
        .toEqual({
          state: 'unreachable',
          reason: 'error',
        })

      // once there is a good reading, a slow refresh serves it rather than "no answer"
      own.mode = 'ok'
      const good = await readSupervisor(own.env, later(10), { waitMs: 30_000 })
      expect(good.state).toBe('ok')
      own.mode = 'hang'
      expect(await readSupervisor(own.env, later(20), { waitMs: 20, timeoutMs: 60_000 })).toBe(good)
    } finally {
      await own.close()
    }
  })

  it('never puts the API key in a reading', async () => {
    const reading = await readSupervisor(supervisor.env, NOW, { waitMs: 30_000 })
    expect(reading.state).toBe('ok')
    expect(JSON.stringify(reading)).not.toContain(supervisor.apiKey)
  })
})
