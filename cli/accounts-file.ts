// Accounts carried between databases: `gateway-auth export` writes them, `gateway-auth import`
// reads them (embedded PostgreSQL → a server, one device → another, across major versions, a
// backup). The format is JSON Lines: a header naming the format, its version and the number of
// accounts (so a cut-off file is noticed), then one account a line with its bcrypt hash and its
// times. Sessions and throttling counters are not carried: they are short-lived state.
//
//   {"format":"gateway-auth/accounts","version":1,"exported_at":"2026-12-01T04:00:00.000Z","accounts":1}
//   {"username":"alice","password_hash":"$2b$10$…","created_at":"2026-11-02T09:15:00.000Z",
//    "last_login_time":null,"previous_login_time":null}                       (one line in the file)
//
// Import reads and checks every line before it writes anything, then writes in one transaction
// with the users table locked against concurrent sign-ups. Importing the same file twice changes
// nothing: an account whose name (any case) and hash are already there is left as it is. The
// same name with another hash is a conflict: refused unless the caller chose skip or overwrite.
import { z } from 'zod'
import type { Queryable } from '#lib/platform/database.ts'
import { revokeAllUserSessions } from '#lib/auth/sessions.ts'
import type { User } from '#lib/auth/users.ts'
import { USERNAME_PATTERN } from '#lib/auth/validation.ts'

export const EXPORT_FORMAT = 'gateway-auth/accounts'
export const EXPORT_VERSION = 1

// $2a$/$2b$/$2y$, a two-digit cost, 22 characters of salt and 31 of hash (bcrypt's base64)
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/
const timestamp = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date and time' })

const Header = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.number().int().positive(),
  exported_at: timestamp.optional(),
  accounts: z.number().int().nonnegative({ error: 'must be the number of accounts' }),
})

const AccountLine = z.strictObject({
  username: z.string().regex(USERNAME_PATTERN, 'must be 3 to 32 of A-Z a-z 0-9 . _ -'),
  password_hash: z.string().regex(BCRYPT_HASH, 'must be a bcrypt hash'),
  created_at: timestamp,
  last_login_time: timestamp.nullable(),
  previous_login_time: timestamp.nullable(),
})

export interface ExportedAccount {
  readonly username: string
  readonly passwordHash: string
  readonly createdAt: Date
  readonly lastLoginTime: Date | null
  readonly previousLoginTime: Date | null
}

/** Every problem found in an export file, one line each (`line 3: …`); nothing was written. */
export class ExportFileError extends Error {
  override name = 'ExportFileError'
  readonly problems: string[]
  constructor(problems: string[]) {
    super(problems.join('\n'))
    this.problems = problems
  }
}

/** The export of `users`, ready to write: the header line, then one line per account. */
export function formatExport(users: readonly User[], now: Date): string {
  const header = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exported_at: now.toISOString(),
    accounts: users.length,
  }
  const lines = users.map((user) =>
    JSON.stringify({
      username: user.username,
      password_hash: user.passwordHash,
      created_at: user.createdAt.toISOString(),
      last_login_time: user.lastLoginTime?.toISOString() ?? null,
      previous_login_time: user.previousLoginTime?.toISOString() ?? null,
    }),
  )
  return [JSON.stringify(header), ...lines].map((line) => `${line}\n`).join('')
}

/** Parses and checks a whole export; throws ExportFileError listing every bad line. */
export function parseExport(text: string): ExportedAccount[] {
  const lines = text.split('\n').map((line, index) => ({ number: index + 1, text: line.replace(/\r$/, '') }))
  const filled = lines.filter((line) => line.text.trim() !== '')
  const [first, ...rest] = filled
  if (!first) throw new ExportFileError(['the file is empty: expected a gateway-auth export'])
  const header = readHeader(first.text)
  const problems: string[] = []
  const accounts: ExportedAccount[] = []
  const seen = new Map<string, number>()
  for (const line of rest) {
    const parsed = parseLine(line.text, AccountLine)
    if (typeof parsed === 'string') {
      problems.push(`line ${line.number}: ${parsed}`)
      continue
    }
    const key = parsed.username.toLowerCase()
    const earlier = seen.get(key)
    if (earlier !== undefined) problems.push(`line ${line.number}: ${parsed.username} is already on line ${earlier}`)
    seen.set(key, line.number)
    accounts.push({
      username: parsed.username,
      passwordHash: parsed.password_hash,
      createdAt: new Date(parsed.created_at),
      lastLoginTime: dateOrNull(parsed.last_login_time),
      previousLoginTime: dateOrNull(parsed.previous_login_time),
    })
  }
  if (rest.length !== header.accounts) {
    problems.push(
      `the header announces ${header.accounts} accounts but the file has ${rest.length} lines: ` +
        'it is incomplete or was edited',
    )
  }
  if (problems.length) throw new ExportFileError(problems)
  return accounts
}

const dateOrNull = (value: string | null) => (value === null ? null : new Date(value))

function readHeader(text: string): z.infer<typeof Header> {
  const header = parseLine(text, Header)
  if (typeof header === 'string') throw new ExportFileError([`line 1 is not a ${EXPORT_FORMAT} header: ${header}`])
  if (header.version !== EXPORT_VERSION) {
    throw new ExportFileError([
      `line 1: format version ${header.version} is not readable by this gateway-auth ` +
        `(it reads version ${EXPORT_VERSION}); use a newer one`,
    ])
  }
  return header
}

/** The line as `schema` sees it, or a one-line reason (never the line itself: it may hold a hash). */
function parseLine<T>(text: string, schema: z.ZodType<T>): T | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return 'not valid JSON'
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object'
  const result = schema.safeParse(value)
  if (result.success) return result.data
  return result.error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys')
        return `unknown field ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`
      const field = issue.path.join('.')
      if (issue.code === 'invalid_type' && issue.input === undefined) return `${field} is missing`
      return `${field} ${issue.message}`
    })
    .join('; ')
}

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
 * Writes `accounts` in one transaction, as `choice` says for conflicts. With conflicts and
 * `refuse`, or with `dryRun`, the transaction is rolled back and the report says what would happen.
 */
export async function importAccounts(
  db: Queryable,
  accounts: readonly ExportedAccount[],
  choice: ConflictChoice,
  now: Date,
  { dryRun = false } = {},
): Promise<ImportReport> {
  const report: ImportReport = { created: [], unchanged: [], skipped: [], overwritten: [], conflicts: [] }
  const rollback = new Error('rollback')
  try {
    await db.tx(async (tx) => {
      // sign-ups and logins wait for the few milliseconds this takes, so the plan below stays true
      await tx.none('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE')
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
      report.created.push(...fresh.map((account) => account.username))
      if (report.conflicts.length || dryRun) throw rollback
    })
  } catch (error) {
    if (error !== rollback) throw error
  }
  return report
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
