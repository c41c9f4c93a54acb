// POST /gateway/forwarder/restart: an admin restarts the packet forwarder from the gateway card,
// through the balena Supervisor (ADR 015). The supervisor's key could stop any service or reboot
// the device, so this is the one write the card offers, and it is fenced: admins only, the
// same-origin check of every POST (CSRF), an explicit `confirm=restart` (the card's checkbox), one
// restart a minute per device, never `force` (an update lock holds), and a log line either way.
import * as z from 'zod'
import { ADMINS, isInGroup } from '#lib/auth/groups.ts'
import {
  readSupervisor,
  restartService,
  SUPERVISOR_TIMEOUT_MS,
  type RestartOutcome,
} from '#lib/gateway/balena-supervisor.ts'
import { forgetGateway } from '#lib/gateway/facts.ts'
import { findForwarder } from '#lib/gateway/forwarder.ts'
import { supervisorLine } from '#lib/gateway/lorawan-view.ts'
import { jsonResult } from '#lib/http/json.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'
import { defineRoute, route } from '#lib/http/route.ts'
import { Problem } from '#lib/problem.ts'

const RestartInput = z.object({
  confirm: z.literal('restart', { error: 'Tick the box to confirm that the packet forwarder may restart.' }),
})

const RestartJson = z.object({
  service: z.string().meta({ description: "The packet forwarder's service name." }),
  state: z.literal('restart_requested'),
})

export const spec = defineRoute({
  keys: ['POST /gateway/forwarder/restart'],
  summary: 'Restart the packet forwarder through the balena Supervisor (admins only)',
  description:
    'Needs `confirm=restart`; one restart a minute per device (`429` before that). The supervisor is asked ' +
    'without `force`, so a service holding an update lock is not restarted (`409`).',
  tag: 'service',
  auth: 'required',
  answers: 'page',
  page: 'dashboard',
  input: RestartInput,
  responses: {
    202: { description: 'The supervisor took the request; the card shows the service restarting.', json: RestartJson },
    303: {
      description: 'Form: to the dashboard, which says the restart was requested.',
      headers: ['Location', 'Set-Cookie'],
    },
  },
  problems: ['forbidden', 'restart_not_possible', 'rate_limited', 'internal_error', 'service_unavailable'],
})

// why a restart could not be asked for, as the card says it
const NOT_RESTARTED: Record<Exclude<RestartOutcome, 'requested'>, string> = {
  locked: 'The packet forwarder holds an update lock; it was not restarted.',
  off_balena: 'Not on balena: there is no supervisor to restart the packet forwarder.',
  no_api: 'This service has no supervisor API (label io.balena.features.supervisor-api).',
  no_app_id: 'BALENA_APP_ID is not set, and the supervisor needs it to restart a service.',
  timeout: 'The supervisor did not answer in time.',
  refused: 'The supervisor refused the API key.',
  error: 'The supervisor answered with an error.',
  garbage: 'The supervisor’s answer could not be read.',
  network: 'The supervisor could not be reached.',
}

export const handler = route(spec, async (event, { db, throttle, now }) => {
  const { user } = event.auth
  if (!isInGroup(user, ADMINS)) {
    throw new Problem('forbidden', { detail: 'Only members of admins may restart the packet forwarder.' })
  }
  const env = process.env
  const reading = await readSupervisor(env, now, { askAnew: true, waitMs: SUPERVISOR_TIMEOUT_MS })
  if (reading.state !== 'ok') {
    throw new Problem('restart_not_possible', { detail: `${supervisorLine(reading)}.` })
  }
  const forwarder = findForwarder(reading.services, env)
  if (!forwarder) {
    const detail = 'The supervisor lists no packet forwarder service (set PACKET_FORWARDER_SERVICE to its name).'
    throw new Problem('restart_not_possible', { detail })
  }

  const counted = await throttle.countForwarderRestart()
  const outcome = await restartService(env, forwarder.name)
  event.log.warn({ event: 'forwarder_restart', userId: user.id, service: forwarder.name, outcome }, 'forwarder restart')
  if (outcome !== 'requested') {
    await counted.giveBack() // nothing restarted: the minute is not used up
    throw new Problem('restart_not_possible', { detail: NOT_RESTARTED[outcome] })
  }
  forgetGateway(db) // the dashboard the browser goes to next shows the service restarting

  if (event.wantsHtml) {
    return seeOther(`/dashboard/${encodeURIComponent(user.username)}`, [
      noticeCookie('forwarder_restarting', event.secure),
    ])
  }
  return jsonResult(202, { service: forwarder.name, state: 'restart_requested' } satisfies z.output<typeof RestartJson>)
})
