// The bcrypt work, run in a worker thread of lib/auth/hash-pool.ts: bcryptjs is pure JavaScript (no
// native build for arm64) and blocks whatever thread runs it for the whole hash, so it never runs
// on the thread that answers requests.
import bcrypt from 'bcryptjs'

export type HashTask =
  | { readonly op: 'hash'; readonly password: string; readonly cost: number }
  | { readonly op: 'compare'; readonly password: string; readonly hash: string }

export default function run(task: HashTask): string | boolean {
  return task.op === 'hash' ? bcrypt.hashSync(task.password, task.cost) : bcrypt.compareSync(task.password, task.hash)
}
