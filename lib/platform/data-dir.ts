// DATA_DIR holds the JWT signing secret and the embedded database's password, so nobody but the
// service's user may list, read or write it (README "Run as root or not"): mode 0700, or 0701 when
// the embedded PostgreSQL runs as another user and must pass through to its own `postgres/`. An
// existing directory with more (a 0755 or 0777 from a careless `mkdir`, a restored backup) would
// let a local user read or replace `jwt-secret`: its group and others' read and write bits are
// taken away at start, with one line in the log; if that fails the start fails, naming the fix.
import { chmod, stat } from 'node:fs/promises'
import type { Logger } from 'pino'

// group: nothing; others: at most x (pass through, never list, read or write)
const FORBIDDEN_BITS = 0o076

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0')

/** Takes group and others' access (but others' pass-through) away from an existing `dataDir`. */
export async function secureDataDir(dataDir: string, log: Logger): Promise<void> {
  const mode = await stat(dataDir).then(
    (stats) => stats.mode,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined // made 0700 by whoever needs it first
      throw error
    },
  )
  if (mode === undefined || (mode & FORBIDDEN_BITS) === 0) return
  const fixed = mode & 0o7777 & ~FORBIDDEN_BITS
  try {
    await chmod(dataDir, fixed)
  } catch (error) {
    throw new Error(
      `DATA_DIR ${dataDir} has mode ${octal(mode)}, open to other users, and cannot be changed ` +
        `(${(error as Error).message}): run "chmod ${octal(fixed)} ${dataDir}" as its owner`,
    )
  }
  log.warn(
    { event: 'data_dir_mode_fixed', dataDir, from: octal(mode), to: octal(fixed) },
    'DATA_DIR was open to other users: its mode was fixed',
  )
}
