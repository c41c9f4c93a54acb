// GET /health: is the service up and can it reach its database? Always JSON: it is for machines
// (balena's health check, a load balancer), whatever Accept says.
import { route, type HandlerContext } from '#lib/http/route.ts'
import { jsonResult } from '#lib/http/json.ts'
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '#lib/problem.ts'

const PROBE_TIMEOUT_MS = 2_000

async function health(_event: unknown, { db, log }: HandlerContext) {
  try {
    await Promise.race([
      db.one('SELECT 1 AS ok'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('database probe timed out')), PROBE_TIMEOUT_MS).unref()),
    ])
    return jsonResult(200, { status: 'ok', database: 'ok' })
  } catch (error) {
    log.warn({ err: error }, 'health check: database unavailable')
    const result = jsonResult(503, { status: 'unavailable', database: 'unavailable' })
    return { ...result, headers: { ...result.headers, 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) } }
  }
}

export const handler = route(health)
