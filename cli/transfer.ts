// gateway-auth migrate, export and import: the schema, and the accounts carried between
// databases in the format of cli/accounts-file.ts.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import { migrate } from '#lib/platform/database.ts'
import {
  ExportFileError,
  formatExport,
  importAccounts,
  parseExport,
  type ConflictChoice,
  type ExportedAccount,
} from './accounts-file.ts'
import { listUsers } from '#lib/auth/users.ts'
import type { AdminContext } from './context.ts'
import { CliError, EXIT } from './exit-codes.ts'
import { readStdin } from './terminal.ts'

/** migrate: applies pending migrations (under the same advisory lock as the service's start). */
export async function migrateCommand({ db, log, out }: AdminContext): Promise<void> {
  const applied = await migrate(db, log)
  out(applied.length ? `applied ${applied.join(', ')}` : 'the database schema is up to date')
}

/** export [--output <file>]: every account, to stdout or to a new 0600 file. */
export async function exportCommand({ db, now }: AdminContext, options: { output?: string }): Promise<void> {
  const users = await listUsers(db)
  const text = formatExport(users, now)
  if (options.output) await writePrivateFile(options.output, text)
  else
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(text, (error) => (error ? reject(error) : resolve())),
    )
  process.stderr.write(`exported ${accountCount(users.length)}${options.output ? ` to ${options.output}` : ''}\n`)
}

/** The file appears whole or not at all, readable by its owner only: it holds password hashes. */
async function writePrivateFile(file: string, text: string): Promise<void> {
  const temp = `${file}.tmp-${randomBytes(6).toString('hex')}`
  try {
    await fs.writeFile(temp, text, { mode: 0o600, flag: 'wx', flush: true })
    await fs.rename(temp, file)
  } catch (error) {
    await fs.rm(temp, { force: true })
    throw new CliError(EXIT.failure, `cannot write ${file}: ${(error as Error).message}`)
  }
}

/** import <file> [--on-conflict skip|overwrite] [--dry-run]: all lines checked, then one transaction. */
export async function importCommand(
  { db, now, out }: AdminContext,
  file: string,
  options: { onConflict?: 'skip' | 'overwrite'; dryRun?: boolean },
): Promise<void> {
  const label = file === '-' ? 'stdin' : file
  const text =
    file === '-'
      ? await readStdin()
      : await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
          throw new CliError(
            EXIT.invalid,
            `cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
          )
        })
  let accounts: ExportedAccount[]
  try {
    accounts = parseExport(text)
  } catch (error) {
    if (!(error instanceof ExportFileError)) throw error
    throw new CliError(
      EXIT.invalid,
      `${label} is not a valid export; nothing imported`,
      error.problems.map((p) => `${label}: ${p}`),
    )
  }
  const choice: ConflictChoice = options.onConflict ?? 'refuse'
  const report = await importAccounts(db, accounts, choice, now, { dryRun: options.dryRun })
  if (report.conflicts.length) {
    const names =
      report.conflicts.slice(0, 5).join(', ') + (report.conflicts.length > 5 ? `, … (${report.conflicts.length})` : '')
    throw new CliError(
      EXIT.conflict,
      `accounts already here with another password: ${names}; nothing imported. ` +
        'Choose --on-conflict=skip (keep them) or --on-conflict=overwrite',
    )
  }
  const counts = (['created', 'unchanged', 'skipped', 'overwritten'] as const).map(
    (key) => `${report[key].length} ${key}`,
  )
  const total = accountCount(accounts.length)
  out(`${options.dryRun ? 'dry run, nothing written: ' : ''}${total} in ${label}: ${counts.join(', ')}`)
}

const accountCount = (n: number) => `${n} account${n === 1 ? '' : 's'}`
