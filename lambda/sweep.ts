// Lambda job, on a schedule: delete expired sessions and throttle counters. On the gateway the
// Express adapter does this on an hourly timer; Lambda has no process that lives that long.
import type { Context } from 'aws-lambda'
import { deleteExpiredSessions } from '#lib/auth/sessions.ts'
import { deleteExpiredPendingSignIns } from '#lib/auth/pending-sign-ins.ts'
import { throttleFor } from '#lib/auth/throttle.ts'
import { getRuntime } from '#lib/platform/runtime.ts'

/** One sweep; a failure throws, so Lambda records it and the next run tries again. */
export async function handler(_event: unknown, _context?: Context): Promise<{ sessions: number }> {
  const runtime = await getRuntime()
  const now = new Date()
  const sessions = await deleteExpiredSessions(runtime.db, now)
  await deleteExpiredPendingSignIns(runtime.db, now)
  await throttleFor(runtime).deleteExpired(now)
  runtime.log.info({ sessions }, 'sweep done')
  return { sessions }
}
