// gateway-auth migrate, export and import: the schema, and the accounts carried between
// databases in the format of cli/accounts-file.ts.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { migrate } from '#lib/platform/database.ts'
import { ExportFileError, formatExport, readExport } from './accounts-file.ts'
import { importAccounts, type ConflictChoice, type ImportReport } from './accounts-import.ts'
import { listUsers } from '#lib/auth/users.ts'
import { secondFactorsForExport } from '#lib/auth/second-factor-transfer.ts'
import type { AdminContext } from './context.ts'
import { CliError, EXIT } from './exit-codes.ts'

/** migrate: applies pending migrations (under the same advisory lock as the service's start). */
export async function migrateCommand({ db, log, out }: AdminContext): Promise<void> {
  const applied = await migrate(db, log)
  out(applied.length ? `applied ${applied.join(', ')}` : 'the database schema is up to date')
}

/**
 * export [--output <file> [--force]]: every account, to stdout or to a 0600 file. Secret material:
 * password hashes, and the TOTP keys of accounts with a second factor.
 */
export async function exportCommand(
  { db, now }: AdminContext,
  options: { output?: string; force?: boolean },
): Promise<void> {
  const [users, factors] = await Promise.all([listUsers(db), secondFactorsForExport(db)])
  const text = formatExport(users, now, factors)
  if (options.output) await writePrivateFile(options.output, text, options.force ?? false)
  else
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(text, (error) => (error ? reject(error) : resolve())),
    )
  process.stderr.write(`exported ${accountCount(users.length)}${options.output ? ` to ${options.output}` : ''}\n`)
}

/**
 * The file appears whole or not at all, readable by its owner only: it holds password hashes
 * and TOTP keys. An
 * existing file is replaced only with `replace` (--force): a link, unlike a rename, fails if it is there.
 */
async function writePrivateFile(file: string, text: string, replace: boolean): Promise<void> {
  const temp = `${file}.tmp-${randomBytes(6).toString('hex')}`
  try {
    await fs.writeFile(temp, text, { mode: 0o600, flag: 'wx', flush: true })
    if (replace) await fs.rename(temp, file)
    else await fs.link(temp, file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new CliError(
      EXIT.failure,
      code === 'EEXIST'
        ? `${file} already exists: nothing written; choose another file, or add --force to replace it`
        : `cannot write ${file}: ${(error as Error).message}`,
    )
  } finally {
    await fs.rm(temp, { force: true })
  }
}

/** import <file> [--on-conflict skip|overwrite] [--dry-run]: all lines checked, then one transaction. */
export async function importCommand(
  { db, now, out }: AdminContext,
  file: string,
  options: { onConflict?: 'skip' | 'overwrite'; dryRun?: boolean },
): Promise<void> {
  const label = file === '-' ? 'stdin' : file
  const input = file === '-' ? process.stdin : await openExport(file)
  const choice: ConflictChoice = options.onConflict ?? 'refuse'
  // line by line, in batches: a file of any size takes the memory of one batch
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })
  // iterated from now on: readline drops the lines it reads before its iterator exists (the
  // transaction starts first)
  const reading = lines[Symbol.asyncIterator]()
  let report: ImportReport
  try {
    report = await importAccounts(db, readExport(reading), choice, now, { dryRun: options.dryRun })
  } catch (error) {
    if (!(error instanceof ExportFileError)) throw error
    throw new CliError(
      EXIT.invalid,
      `${label} is not a valid export; nothing imported`,
      error.problems.map((p) => `${label}: ${p}`),
    )
  } finally {
    lines.close()
  }
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
  const total = accountCount(
    report.created.length + report.unchanged.length + report.skipped.length + report.overwritten.length,
  )
  out(`${options.dryRun ? 'dry run, nothing written: ' : ''}${total} in ${label}: ${counts.join(', ')}`)
}

const accountCount = (n: number) => `${n} account${n === 1 ? '' : 's'}`

async function openExport(file: string) {
  const handle = await fs.open(file).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(EXIT.invalid, `cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`)
  })
  return handle.createReadStream({ encoding: 'utf8' })
}
