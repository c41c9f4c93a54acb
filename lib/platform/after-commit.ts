// Work that must follow a write only once the write is visible to every other connection: a cache
// entry dropped before COMMIT could be filled again from the row as it still was. Inside a
// transaction the work waits for the outermost transaction to end (pg-promise's `transact` event,
// wired in database.ts); outside one, the statement has already committed and it runs at once.
interface TaskContext {
  readonly isTX?: boolean
  readonly txLevel?: number
  readonly parent?: TaskContext | null
  readonly finish?: Date
}

const pending = new WeakMap<TaskContext, (() => void)[]>()

/** The outermost transaction `db` runs in, or undefined when it runs in none. */
function outermostTransaction(db: object): TaskContext | undefined {
  let ctx = (db as { ctx?: TaskContext }).ctx
  let outermost: TaskContext | undefined
  while (ctx) {
    if (ctx.isTX) outermost = ctx
    ctx = ctx.parent ?? undefined
  }
  return outermost
}

/** Runs `work` once what `db` (a handle or a task) wrote is committed, or rolled back: it must be harmless then. */
export function afterCommit(db: object, work: () => void): void {
  const transaction = outermostTransaction(db)
  if (!transaction) {
    work()
    return
  }
  const queued = pending.get(transaction)
  if (queued) queued.push(work)
  else pending.set(transaction, [work])
}

/** pg-promise's `transact` event: at the end of an outermost transaction, its queued work runs. */
export function transactionEnded(ctx: TaskContext): void {
  if (!ctx.finish) return
  const queued = pending.get(ctx)
  if (!queued) return
  pending.delete(ctx)
  for (const work of queued) work()
}
