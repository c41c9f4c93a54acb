// The bcrypt work, run in a worker thread of lib/auth/hash-pool.ts: bcryptjs is pure JavaScript (no
// native build for arm64) and blocks whatever thread runs it for the whole hash, so it never runs
// on the thread that answers requests.
import bcrypt from 'bcryptjs'
import { hashCost, MAX_BCRYPT_COST } from '../platform/bcrypt-costs.ts'

export type HashTask =
  | { readonly op: 'hash'; readonly password: string; readonly cost: number }
  | { readonly op: 'compare'; readonly password: string; readonly hash: string }

export default function run(task: HashTask): string | boolean {
  // the last line of defence: no task holds a thread for longer than the highest allowed cost takes
  const cost = task.op === 'hash' ? task.cost : hashCost(task.hash)
  if (!(cost <= MAX_BCRYPT_COST)) throw new RangeError(`bcrypt cost ${cost} is over ${MAX_BCRYPT_COST}: not run`)
  return task.op === 'hash' ? bcrypt.hashSync(task.password, task.cost) : bcrypt.compareSync(task.password, task.hash)
}
