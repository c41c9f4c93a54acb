// Writing an export's accounts (the format and its checks: cli/accounts-file.ts). Batches
// of accounts are written in one transaction with the users table locked against concurrent
// sign-ups; if any line of the file is wrong the transaction is rolled back, so nothing is written.
// Importing the same file twice changes nothing: an account whose name (any case) and hash are
// already there is left as it is. The same name with another hash is a conflict: refused unless
// the caller chose skip or overwrite. Second factors (version 3) come with a created or overwritten
// account (an overwritten one takes the file's, none from a version 1 or 2 file); an unchanged
// one keeps its own.
import type { Queryable } from '#lib/platform/database.ts'
import { revokeAllUserSessions } from '#lib/auth/sessions.ts'
import { restoreSecondFactors } from '#lib/auth/second-factor-transfer.ts'
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
      // the file's account replaces this one whole: its second factors too (none in a version 1 or 2 file)
      const factors = account.secondFactors ?? { totp: null, recoveryCodes: [] }
      await restoreSecondFactors(tx, [{ userId: there.id, factors }])
      report.overwritten.push(account.username)
    }
  }
  await insertAccounts(tx, fresh)
  await restoreFreshFactors(tx, fresh)
  // one push per name: a spread of 150,000 arguments overflows the stack
  for (const account of fresh) report.created.push(account.username)
}

async function insertAccounts(db: Queryable, accounts: readonly ExportedAccount[]): Promise<void> {
  if (!accounts.length) return
  await db.none(
    `INSERT INTO users (username, password_hash, created_at, last_login_time, previous_login_time, groups)
     SELECT u, h, c, l, p, ARRAY(SELECT json_array_elements_text(g)) FROM unnest($1::text[], $2::text[],
       $3::timestamptz[], $4::timestamptz[], $5::timestamptz[], $6::json[]) AS a(u, h, c, l, p, g)`,
    [
      accounts.map((account) => account.username),
      accounts.map((account) => account.passwordHash),
      accounts.map((account) => account.createdAt),
      accounts.map((account) => account.lastLoginTime),
      accounts.map((account) => account.previousLoginTime),
      accounts.map((account) => JSON.stringify(account.groups)),
    ],
  )
}

const carried = (userId: string, account: ExportedAccount) =>
  account.secondFactors ? [{ userId, factors: account.secondFactors }] : []

/** The new accounts' second factors, once their rows (and ids) exist. */
async function restoreFreshFactors(tx: Queryable, fresh: readonly ExportedAccount[]): Promise<void> {
  const withFactors = fresh.filter((account) => account.secondFactors)
  if (!withFactors.length) return
  const ids = await tx.any<{ id: string; name: string }>(
    'SELECT id::text AS id, lower(username) AS name FROM users WHERE lower(username) = ANY($1)',
    [withFactors.map((account) => account.username.toLowerCase())],
  )
  const idOf = new Map(ids.map((row) => [row.name, row.id]))
  await restoreSecondFactors(
    tx,
    withFactors.flatMap((account) => carried(idOf.get(account.username.toLowerCase())!, account)),
  )
}

async function overwriteAccount(db: Queryable, userId: string, account: ExportedAccount, now: Date): Promise<void> {
  await db.none(
    `UPDATE users SET username = $2, password_hash = $3, created_at = $4, last_login_time = $5,
       previous_login_time = $6, groups = $7 WHERE id = $1`,
    [
      userId,
      account.username,
      account.passwordHash,
      account.createdAt,
      account.lastLoginTime,
      account.previousLoginTime,
      [...account.groups],
    ],
  )
  // another password now: tokens issued under the old one end, as after a password change
  await revokeAllUserSessions(db, userId, now)
}
