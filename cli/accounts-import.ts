// Writing an export's accounts (the format and its checks: cli/accounts-file.ts). Batches
// of accounts are written in one transaction with the users table locked against concurrent
// sign-ups; if any line of the file is wrong the transaction is rolled back, so nothing is written.
// Importing the same file twice changes nothing: an account whose name (any case) and hash are
// already there is left as it is. The same name with another hash is a conflict: refused unless
// the caller chose skip or overwrite.
import type { Queryable } from '#lib/platform/database.ts'
import { revokeAllUserSessions } from '#lib/auth/sessions.ts'
import type { ExportedAccount } from './accounts-file.ts'

export type ConflictChoice = 'refuse' | 'skip' | 'overwrite'

export interface ImportReport {
  created: string[]
  /** Already there with the same hash: left as is. */
  unchanged: string[]
  /** There with another hash, and left as is (skip). */
  skipped: string[]
  /** There with another hash, and replaced (overwrite); their sessions were revoked. */
  overwritten: string[]
  /** There with another hash, and nothing was written because of them (refuse). */
  conflicts: string[]
}

/**
 * Writes `accounts` (one array, or batches from readExport) in one transaction, as `choice` says
 * for conflicts. With conflicts and `refuse`, or with `dryRun`, the transaction is rolled back and
 * the report says what would happen. An error from the batches (a bad file) rolls it back too.
 */
export async function importAccounts(
  db: Queryable,
  accounts: readonly ExportedAccount[] | AsyncIterable<readonly ExportedAccount[]>,
  choice: ConflictChoice,
  now: Date,
  { dryRun = false } = {},
): Promise<ImportReport> {
  const report: ImportReport = { created: [], unchanged: [], skipped: [], overwritten: [], conflicts: [] }
  const batches = isAccountList(accounts) ? [accounts] : accounts
  const rollback = new Error('rollback')
  try {
    await db.tx(async (tx) => {
      // sign-ups and logins wait while this runs (a few seconds for 100,000 accounts), so each
      // batch's plan stays true until the commit
      await tx.none('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE')
      for await (const batch of batches) await importBatch(tx, batch, choice, now, report)
      if (report.conflicts.length || dryRun) throw rollback
    })
  } catch (error) {
    if (error !== rollback) throw error
  }
  return report
}

const isAccountList = (value: unknown): value is readonly ExportedAccount[] => Array.isArray(value)

async function importBatch(
  tx: Queryable,
  accounts: readonly ExportedAccount[],
  choice: ConflictChoice,
  now: Date,
  report: ImportReport,
): Promise<void> {
  const existing = await tx.any<{ id: string; username: string; passwordHash: string }>(
    'SELECT id::text AS id, username, password_hash AS "passwordHash" FROM users WHERE lower(username) = ANY($1)',
    [accounts.map((account) => account.username.toLowerCase())],
  )
  const byName = new Map(existing.map((user) => [user.username.toLowerCase(), user]))
  const fresh: ExportedAccount[] = []
  for (const account of accounts) {
    const there = byName.get(account.username.toLowerCase())
    if (!there) fresh.push(account)
    else if (there.passwordHash === account.passwordHash) report.unchanged.push(there.username)
    else if (choice === 'skip') report.skipped.push(there.username)
    else if (choice === 'refuse') report.conflicts.push(there.username)
    else {
      await overwriteAccount(tx, there.id, account, now)
      report.overwritten.push(account.username)
    }
  }
  await insertAccounts(tx, fresh)
  // one push per name: a spread of 150,000 arguments overflows the stack
  for (const account of fresh) report.created.push(account.username)
}

async function insertAccounts(db: Queryable, accounts: readonly ExportedAccount[]): Promise<void> {
  if (!accounts.length) return
  await db.none(
    `INSERT INTO users (username, password_hash, created_at, last_login_time, previous_login_time)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[])`,
    [
      accounts.map((account) => account.username),
      accounts.map((account) => account.passwordHash),
      accounts.map((account) => account.createdAt),
      accounts.map((account) => account.lastLoginTime),
      accounts.map((account) => account.previousLoginTime),
    ],
  )
}

async function overwriteAccount(db: Queryable, userId: string, account: ExportedAccount, now: Date): Promise<void> {
  await db.none(
    `UPDATE users SET username = $2, password_hash = $3, created_at = $4, last_login_time = $5,
       previous_login_time = $6 WHERE id = $1`,
    [
      userId,
      account.username,
      account.passwordHash,
      account.createdAt,
      account.lastLoginTime,
      account.previousLoginTime,
    ],
  )
  // another password now: tokens issued under the old one end, as after a password change
  await revokeAllUserSessions(db, userId, now)
}
