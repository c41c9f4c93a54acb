import { describe, expect, it } from 'vitest'
import { balenaDevice, cpuModel, type GatewayFacts } from '#lib/gateway/facts.ts'
import { forwarderSettings } from '#lib/gateway/forwarder.ts'
import { formatBytes, formatDuration, formatLoad, gatewayView } from '#lib/gateway/view.ts'

const GB = 1e9
const facts = (over: Partial<GatewayFacts> = {}): GatewayFacts => ({
  readAt: new Date('2026-12-01T04:00:00Z'),
  hostname: 'rak7268',
  uptimeSeconds: 3 * 86400 + 4 * 3600,
  loadAverage: [0.42, 0.35, 0.3],
  cpu: { count: 4, model: 'aarch64' },
  memory: { usedBytes: 1.2 * GB, totalBytes: 4 * GB },
  disk: { freeBytes: 20 * GB, totalBytes: 31 * GB },
  database: { kind: 'embedded', healthy: true, sizeBytes: 8.3e6 },
  service: { version: '0.1.0', nodeVersion: '24.21.0', uptimeSeconds: 7200, rssBytes: 98e6 },
  balena: null,
  lorawan: {
    eui: { eui: 'E45F01FFFE517BA8', source: { kind: 'environment' } },
    forwarder: forwarderSettings({}),
    supervisor: { state: 'off_balena' },
    forwarderService: undefined,
  },
  ...over,
})

describe('formatting', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1 kB'],
    [1536, '1.5 kB'],
    [8_300_000, '8.3 MB'],
    [123_400_000, '123 MB'],
    [4e9, '4 GB'],
    [31.9e9, '31.9 GB'],
    [2.5e12, '2.5 TB'],
    [-5, '0 B'],
  ])('formatBytes(%d) is %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text))

  it.each([
    [0, '0 s'],
    [42, '42 s'],
    [60, '1 min'],
    [7 * 60 + 59, '7 min'],
    [3600, '1 h'],
    [5 * 3600 + 12 * 60, '5 h 12 min'],
    [86400, '1 d'],
    [3 * 86400 + 4 * 3600 + 59, '3 d 4 h'],
    [-3, '0 s'],
    [59.9, '59 s'],
  ])('formatDuration(%d) is %s', (seconds, text) => expect(formatDuration(seconds)).toBe(text))

  it('formatLoad shows the three averages with two decimals', () => {
    expect(formatLoad([0.4213, 1, 12.5])).toBe('0.42 · 1.00 · 12.50')
  })

  it("cpuModel takes the kernel's name, squeezed, or the architecture when it gives none", () => {
    expect(cpuModel('Intel(R) Core(TM)  i5 ', 'x86_64')).toBe('Intel(R) Core(TM) i5')
    expect(cpuModel('unknown', 'aarch64')).toBe('aarch64')
    expect(cpuModel('', 'aarch64')).toBe('aarch64')
    expect(cpuModel(undefined, 'arm')).toBe('arm')
  })
})

describe('balenaDevice', () => {
  it("reads the supervisor's variables", () => {
    expect(
      balenaDevice({
        BALENA: '1',
        BALENA_DEVICE_NAME_AT_INIT: 'north',
        BALENA_DEVICE_TYPE: 'raspberrypi4-64',
        BALENA_APP_NAME: 'fleet-a',
      }),
    ).toEqual({ deviceName: 'north', deviceType: 'raspberrypi4-64', fleet: 'fleet-a' })
  })
  it('is null off balena, and keeps what it has when only some are set', () => {
    expect(balenaDevice({ PATH: '/bin' })).toBeNull()
    expect(balenaDevice({ BALENA_DEVICE_TYPE: 'jetson-nano' })).toEqual({
      deviceName: undefined,
      deviceType: 'jetson-nano',
      fleet: undefined,
    })
  })
})

describe('gatewayView', () => {
  it('says all is well when it is, with one row per fact', () => {
    const view = gatewayView(facts())
    expect(view.state).toBe('ok')
    expect(view.summary).toBe('Gateway and service are healthy.')
    expect(Object.fromEntries(view.rows.map((row) => [row.label, row.value]))).toEqual({
      Hostname: 'rak7268',
      'Up for': '3 d 4 h',
      Load: '0.42 · 0.35 · 0.30',
      CPU: '4 × aarch64',
      Memory: '1.2 GB of 4 GB',
      Storage: '20 GB free of 31 GB',
      Database: 'Embedded PostgreSQL, healthy',
      Software: 'gateway-auth 0.1.0',
    })
    expect(view.device).toEqual([])
  })

  it('names each problem in the verdict and marks its row', () => {
    const view = gatewayView(
      facts({
        loadAverage: [6.1, 5, 4],
        memory: { usedBytes: 3.9 * GB, totalBytes: 4 * GB },
        disk: { freeBytes: 0.3 * GB, totalBytes: 31 * GB },
      }),
    )
    expect(view.state).toBe('warn')
    expect(view.summary).toBe('Needs attention: storage is nearly full, memory is nearly used up, the CPU is busy.')
    const state = Object.fromEntries(view.rows.map((row) => [row.label, row.state]))
    expect(state).toMatchObject({ Load: 'warn', Memory: 'warn', Storage: 'warn', Database: 'ok' })
  })

  it('an unreachable database is a problem, not a warning; the page still has every other row', () => {
    const view = gatewayView(facts({ database: { kind: 'server', healthy: false, sizeBytes: null }, disk: null }))
    expect(view.state).toBe('bad')
    expect(view.summary).toBe('Needs attention: the database is unreachable, storage cannot be read.')
    expect(view.rows.find((row) => row.label === 'Database')).toEqual({
      label: 'Database',
      value: 'PostgreSQL server, unreachable',
      detail: undefined,
      state: 'bad',
    })
    expect(view.rows).toHaveLength(8)
  })

  it('storage is low below 10 % free even on a large disk', () => {
    expect(gatewayView(facts({ disk: { freeBytes: 9 * GB, totalBytes: 100 * GB } })).state).toBe('warn')
    expect(gatewayView(facts({ disk: { freeBytes: 11 * GB, totalBytes: 100 * GB } })).state).toBe('ok')
  })

  it('on balena, lists the device, its type and fleet', () => {
    const view = gatewayView(
      facts({ balena: { deviceName: 'north', deviceType: 'raspberrypi4-64', fleet: undefined } }),
    )
    expect(view.device.map((row) => [row.label, row.value])).toEqual([
      ['Device', 'north'],
      ['Device type', 'raspberrypi4-64'],
      ['Fleet', 'unknown'],
    ])
  })
})

describe('gatewayView with the LoRaWAN facts', () => {
  it('puts a stopped packet forwarder first in the verdict, as a problem', () => {
    const lorawan = {
      ...facts().lorawan,
      supervisor: {
        state: 'ok' as const,
        readAt: new Date(),
        services: [{ name: 'basicstation', state: 'exited' as const }],
        device: null,
      },
      forwarderService: { name: 'basicstation', state: 'exited' as const },
    }
    const view = gatewayView(facts({ lorawan, disk: { freeBytes: 0.3 * GB, totalBytes: 31 * GB } }))
    expect(view.state).toBe('bad')
    expect(view.summary).toBe('Needs attention: the packet forwarder is not running, storage is nearly full.')
  })
})
