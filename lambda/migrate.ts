// Lambda job: bring the schema up to date. Run once per deploy (the CDK app triggers it after the
// functions are updated, see infra/), never on a route's cold start: behind RDS Proxy a migration's
// advisory lock and DDL would pin connections, and a thousand cold starts would queue on the lock.
import type { Context } from 'aws-lambda'
import { migrate } from '#lib/platform/database.ts'
import { getRuntime } from '#lib/platform/runtime.ts'

/** Applies pending migrations and answers with their names (empty when the schema was current). */
export async function handler(_event: unknown, _context?: Context): Promise<{ applied: string[] }> {
  const { db, log } = await getRuntime()
  return { applied: await migrate(db, log) }
}
