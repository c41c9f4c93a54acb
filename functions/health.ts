// GET /health: is the service up and can it reach its database? Always JSON: it is for machines
// (balena's health check, a load balancer), whatever Accept says.
// The probe has a connection of its own (runtime.healthDb) and needs no bcrypt, so a saturated
// hash pool or a busy request pool never makes it wait. A probe that times out while this process
// itself was saturated (its event loop busy nearly the whole time) says nothing about the database:
// if the database answered within the last minute, that is reported as busy, not as an outage.
import { performance } from 'node:perf_hooks'
import * as z from 'zod'
import { defineRoute, route } from '#lib/http/route.ts'
import { jsonResult } from '#lib/http/json.ts'
import { HEALTH_TIMEOUT_MS } from '#lib/platform/database.ts'
import { UNAVAILABLE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '#lib/problem.ts'

export const spec = defineRoute({
  keys: ['GET /health'],
  summary: 'Is the service up and can it reach its database? Always JSON',
  tag: 'service',
  answers: 'json',
  responses: {
    200: {
      description: 'Up (`busy`: the probe timed out while this process was saturated, the database answered lately).',
      json: z.object({ status: z.enum(['ok', 'busy']), database: z.literal('ok') }),
    },
    503: {
      description: 'The database cannot be reached.',
      json: z.object({ status: z.literal('unavailable'), database: z.literal('unavailable') }),
      headers: ['Retry-After'],
    },
  },
})

const BUSY_UTILIZATION = 0.9
const LAST_ANSWER_TRUSTED_MS = 60_000
let lastAnswerAt = 0

export const handler = route(spec, async (_event, { healthDb, log }) => {
  const loopBefore = performance.eventLoopUtilization()
  const startedAt = Date.now()
  try {
    await Promise.race([
      healthDb.one('SELECT 1 AS ok'),
      // pg's own timeouts come first; this one also covers a connection attempt that hangs
      new Promise((_, reject) => {
        setTimeout(() => reject(new Error('database probe timed out')), HEALTH_TIMEOUT_MS + 500).unref()
      }),
    ])
    lastAnswerAt = Date.now()
    return jsonResult(200, { status: 'ok', database: 'ok' })
  } catch (error) {
    const timedOut = Date.now() - startedAt >= HEALTH_TIMEOUT_MS && !isDatabaseUnavailable(error)
    const wereBusy = performance.eventLoopUtilization(loopBefore).utilization >= BUSY_UTILIZATION
    if (timedOut && wereBusy && Date.now() - lastAnswerAt < LAST_ANSWER_TRUSTED_MS) {
      log.warn({ err: error }, 'health check: probe timed out while the service was busy')
      return jsonResult(200, { status: 'busy', database: 'ok' })
    }
    log.warn({ err: error }, 'health check: database unavailable')
    const result = jsonResult(503, { status: 'unavailable', database: 'unavailable' })
    return { ...result, headers: { ...result.headers, 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) } }
  }
})
