// gateway-auth status, spawned as an operator runs it, next to a stand-in balena Supervisor
// (tests/helpers/fake-supervisor.ts): the LoRaWAN facts as lines or as the dashboard's JSON, exit 7
// when the packet forwarder is not running, no database needed, and never a key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectExit, runCli } from '../helpers/cli.ts'
import { startFakeSupervisor, type FakeSupervisor } from '../helpers/fake-supervisor.ts'
import { schemaAt } from '../helpers/openapi.ts'

const LNS_KEY = 'NNSXS.CLIKEY.DO-NOT-SHOW'
let supervisor: FakeSupervisor
let env: Record<string, string>

beforeAll(async () => {
  supervisor = await startFakeSupervisor()
  env = {
    ...supervisor.env,
    GATEWAY_EUI: 'AA555A0000000101',
    MODEL: 'SX1303',
    TC_URI: 'wss://eu1.cloud.thethings.network:8887',
    TC_KEY: LNS_KEY,
    // no database anywhere: status must not need one
    DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none',
  }
})
afterAll(() => supervisor?.close())

describe('gateway-auth status', () => {
  it('prints the EUI, the forwarder and the services; exit 0 while the forwarder runs', async () => {
    supervisor.services = [
      { serviceName: 'basicstation', status: 'Running' },
      { serviceName: 'gateway-auth', status: 'Running' },
    ]
    const run = await runCli(['status'], env)
    expectExit(run, 0)
    expect(run.stdout.split('\n')).toEqual([
      'Gateway EUI       AA555A0000000101 (from GATEWAY_EUI)',
      'Packet forwarder  running (service basicstation)',
      'Protocol          LoRa Basics Station',
      'Model             SX1303',
      'Network server    wss://eu1.cloud.thethings.network:8887',
      'Keys              TC_KEY set',
      'Services          basicstation: running (packet forwarder)',
      '                  gateway-auth: running',
      '',
    ])
    expect(run.stdout + run.stderr).not.toContain(LNS_KEY)
    expect(run.stdout + run.stderr).not.toContain(supervisor.apiKey)
  })

  it('exit 7 with one line on stderr when the forwarder is not running; --json as the dashboard has it', async () => {
    supervisor.services = [{ serviceName: 'basicstation', status: 'exited' }]
    const run = await runCli(['status', '--json'], env)
    expectExit(run, 7, /^gateway-auth: needs attention: the packet forwarder is not running\n$/)
    const json = JSON.parse(run.stdout)
    const dashboard = ['paths', '/dashboard/{username}', 'get', 'responses', '200', 'content', 'application/json']
    // the dashboard's gateway is nullable (null for accounts outside admins): its object is the first of anyOf
    const validate = schemaAt(...dashboard, 'schema', 'properties', 'gateway', 'anyOf', '0', 'properties', 'lorawan')
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true)
    expect(json).toMatchObject({
      gateway_eui: 'AA555A0000000101',
      forwarder: { protocol: 'basics_station', service: 'basicstation', state: 'exited', credentials_set: ['TC_KEY'] },
      supervisor: { state: 'ok', services: [{ name: 'basicstation', state: 'exited' }] },
    })
    expect(run.stdout).not.toContain(LNS_KEY)
  })

  it('a supervisor that refuses the key: says so, exit 0 (the forwarder’s state is unknown, not bad)', async () => {
    const run = await runCli(['status'], { ...env, BALENA_SUPERVISOR_API_KEY: 'revoked' })
    expectExit(run, 0)
    expect(run.stdout).toContain('Services          Supervisor not reachable: it refused the API key\n')
  })
})
