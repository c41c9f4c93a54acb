// POST /gateway/forwarder/restart (docs/gateway-card.md, ADR 015): an admin restarts the packet
// forwarder through the balena Supervisor, here its stand-in (tests/helpers/fake-supervisor.ts),
// which records each restart it is asked for. Only an admin, only confirmed, one a minute per
// device; every way the supervisor can fail is a 409 naming why, and nothing is restarted.
import { afterAll, beforeAll, beforeEach, expect } from 'vitest'
import { setUserGroups } from '#lib/auth/groups.ts'
import { readSupervisor } from '#lib/gateway/balena-supervisor.ts'
import { FORWARDER_RUNNING, startFakeSupervisor, type FakeSupervisor } from '../helpers/fake-supervisor.ts'
import type { Call } from '../helpers/http.ts'
import { runScenarios, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'

let supervisor: FakeSupervisor
const savedEnv = { ...process.env }
beforeAll(async () => {
  supervisor = await startFakeSupervisor()
})
beforeEach(() => {
  // the service reads the supervisor's address and key from its environment, as on balena
  process.env = { ...savedEnv, ...supervisor.env }
  Object.assign(supervisor, { mode: 'ok', locked: false, services: FORWARDER_RUNNING.map((s) => ({ ...s })) })
  supervisor.restarts.length = 0
})
afterAll(async () => {
  process.env = savedEnv
  await supervisor?.close()
})

/** Signs the scenario's account in (a bearer token) after putting it in `groups`. */
const signedInAs =
  (groups: string[]) =>
  async (ctx: ScenarioContext): Promise<void> => {
    await setUserGroups(ctx.service.runtime.db, ctx.account.id, groups)
    ctx.token = await ctx.service.apiLogin(ctx.account)
  }
/** An admin, with the device's restart counter empty (a minute has passed since any earlier restart). */
async function admin(ctx: ScenarioContext): Promise<void> {
  await ctx.service.runtime.db.none("DELETE FROM throttle WHERE key LIKE 'forwarder_restart%'")
  await signedInAs(['admins'])(ctx)
}
const restart = (ctx: ScenarioContext, json: object = { confirm: 'restart' }): Call & { path: string } => ({
  path: '/gateway/forwarder/restart',
  method: 'POST',
  json,
  bearer: ctx.token,
})
/**
 * The packet forwarder's state on the dashboard's card (JSON). The supervisor's answer goes into the
 * cache first, so a busy machine cannot turn a slow answer into "no answer in time" (the card's own
 * tests cover that case).
 */
async function forwarderOnCard({ service, account, token }: ScenarioContext): Promise<string | undefined> {
  await readSupervisor(process.env, new Date(), { waitMs: 30_000 })
  const card = await service.dashboard(account.username, token)
  const services = card.json.gateway.lorawan.supervisor.services as { name: string; state: string }[]
  return services.find((s) => s.name === 'udp-packet-forwarder')?.state
}
const nothingRestarted = async () => expect(supervisor.restarts).toEqual([])

/** A 409 naming why, after `given` put the supervisor (or the environment) in that state. */
const notPossible = (name: string, given: () => void, detail: RegExp): Scenario => ({
  name: `${name} → 409 restart_not_possible, nothing restarted`,
  as: 'account',
  async given(ctx) {
    await admin(ctx)
    given()
  },
  request: restart,
  expect: { status: 409, code: 'restart_not_possible', json: { detail: expect.stringMatching(detail) } },
  after: nothingRestarted,
})

runScenarios('POST /gateway/forwarder/restart', [
  {
    name: 'an admin, confirmed → 202, the supervisor restarts the forwarder service, the card shows it',
    as: 'account',
    async given(ctx) {
      await admin(ctx)
      expect(await forwarderOnCard(ctx)).toBe('running') // and now cached for a few seconds
    },
    request: restart,
    expect: { status: 202, json: { service: 'udp-packet-forwarder', state: 'restart_requested' } },
    async after(ctx) {
      expect(supervisor.restarts).toEqual(['udp-packet-forwarder'])
      // the key travelled in the query string only, to the supervisor's documented route
      expect(supervisor.requests).toContain(
        `/v2/applications/${supervisor.env.BALENA_APP_ID}/restart-service?apikey=${supervisor.apiKey}`,
      )
      // the cached readings were dropped: the next look at the card asks the supervisor again
      expect(await forwarderOnCard(ctx)).toBe('restarting')
    },
  },
  {
    name: 'a second restart within the minute → 429 with Retry-After, not passed on',
    as: 'account',
    async given(ctx) {
      await admin(ctx)
      expect((await ctx.service.http.call('/gateway/forwarder/restart', restart(ctx))).status).toBe(202)
      supervisor.restarts.length = 0
    },
    request: restart,
    expect: { status: 429, code: 'rate_limited', headers: { 'retry-after': /^(?:[1-5]\d|60|\d)$/ } },
    after: nothingRestarted,
  },
  {
    name: 'a restart the update lock refused does not use up the minute: once released, it restarts at once',
    as: 'account',
    async given(ctx) {
      await admin(ctx)
      supervisor.locked = true
      expect((await ctx.service.http.call('/gateway/forwarder/restart', restart(ctx))).status).toBe(409)
      supervisor.locked = false
    },
    request: restart,
    expect: { status: 202 },
    after: async () => expect(supervisor.restarts).toEqual(['udp-packet-forwarder']),
  },
  {
    name: 'the form, confirmed → 303 to the dashboard, whose notice says the forwarder is restarting',
    as: 'account',
    async given(ctx) {
      await ctx.service.runtime.db.none("DELETE FROM throttle WHERE key LIKE 'forwarder_restart%'")
      await setUserGroups(ctx.service.runtime.db, ctx.account.id, ['admins'])
      await ctx.service.browserLogin(ctx.account, ctx.jar)
    },
    request: (ctx) => ({ path: '/gateway/forwarder/restart', form: { confirm: 'restart' }, jar: ctx.jar }),
    expect: { status: 303, location: /^\/dashboard\/Scenario-/, cookies: { notice: /forwarder_restarting/ } },
    async after(ctx) {
      expect(supervisor.restarts).toEqual(['udp-packet-forwarder'])
      const page = await ctx.service.http.getHtml(`/dashboard/${ctx.account.username}`, { jar: ctx.jar })
      expect(page.text).toContain('Restart requested: the packet forwarder is restarting')
    },
    only: 'http',
  },
  {
    name: 'a signed-in account outside admins → 403, nothing restarted',
    as: 'account',
    given: signedInAs(['operators']),
    request: restart,
    expect: { status: 403, code: 'forbidden', json: { detail: expect.stringMatching(/admins/) } },
    after: nothingRestarted,
  },
  {
    name: 'an admin without the confirmation → 400 naming the field, nothing restarted',
    as: 'account',
    given: admin,
    request: (ctx) => restart(ctx, { confirm: 'yes' }),
    expect: { status: 400, code: 'validation_failed', json: { errors: [{ field: 'confirm' }] } },
    after: nothingRestarted,
  },
  {
    name: 'signed out → 401, nothing restarted',
    request: () => ({ path: '/gateway/forwarder/restart', method: 'POST', json: { confirm: 'restart' } }),
    expect: { status: 401, code: 'unauthorized' },
    after: nothingRestarted,
  },
  notPossible(
    'the forwarder holds an update lock (the supervisor’s 423)',
    () => {
      supervisor.locked = true
    },
    /update lock/,
  ),
  notPossible(
    'the supervisor answers 500',
    () => {
      supervisor.mode = 'error'
    },
    /answered with an error/,
  ),
  notPossible(
    'the supervisor does not answer',
    () => {
      supervisor.mode = 'hang'
    },
    /no answer in time/,
  ),
  notPossible(
    'the supervisor lists no packet forwarder',
    () => {
      supervisor.services = [{ serviceName: 'gateway-auth', status: 'Running' }]
    },
    /no packet forwarder service/,
  ),
  notPossible(
    'not on balena',
    () => {
      process.env = { ...savedEnv }
    },
    /Not on balena/,
  ),
  notPossible(
    'BALENA_APP_ID missing',
    () => {
      delete process.env.BALENA_APP_ID
    },
    /BALENA_APP_ID/,
  ),
])
