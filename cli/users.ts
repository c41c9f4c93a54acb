// gateway-auth users … and sessions …: the accounts, through the same lib/ functions, rules and
// hashing as the web handlers. The registration policy does not apply: this is the administrator.
import * as z from 'zod'
import type { AdminContext } from './context.ts'
import { CliError, EXIT } from './exit-codes.ts'
import { confirm, readNewPassword } from './terminal.ts'
import { hashPassword } from '#lib/auth/password.ts'
import { hashPoolFor } from '#lib/auth/hash-pool.ts'
import { countLiveSessions, revokeAllUserSessions } from '#lib/auth/sessions.ts'
import { removeSecondFactors, secondFactorsByUser } from '#lib/auth/second-factors.ts'
import { clearUserThrottling } from '#lib/auth/throttle.ts'
import {
  createUser,
  deleteUser,
  findUserByUsername,
  isUniqueViolation,
  listUsers,
  updatePasswordHash,
  type User,
} from '#lib/auth/users.ts'
import { parseInput, registrationInput, Username } from '#lib/auth/validation.ts'
import { loadCommonPasswords } from '#lib/auth/common-passwords.ts'

const minute = (date: Date | null) =>
  date
    ? date
        .toISOString()
        .replace('T', ' ')
        .replace(/:\d\d\.\d+Z$/, 'Z')
    : 'never'

/** users list [--json] */
export async function listCommand({ db, now, out }: AdminContext, options: { json?: boolean }): Promise<void> {
  const [users, sessions, factors] = await Promise.all([
    listUsers(db),
    countLiveSessions(db, now),
    secondFactorsByUser(db),
  ])
  const rows = users.map((user) => ({
    username: user.username,
    created_at: user.createdAt.toISOString(),
    last_login_time: user.lastLoginTime?.toISOString() ?? null,
    live_sessions: sessions.get(user.id) ?? 0,
    groups: user.groups,
    second_factors: factors.get(user.id) ?? [],
  }))
  if (options.json) {
    for (const row of rows) out(JSON.stringify(row))
    return
  }
  if (!rows.length) return out('no accounts')
  const table = [
    ['USERNAME', 'CREATED', 'LAST LOGIN', 'SESSIONS', 'SECOND FACTOR', 'GROUPS'],
    ...users.map((user, i) => [
      user.username,
      minute(user.createdAt),
      minute(user.lastLoginTime),
      String(rows[i]!.live_sessions),
      rows[i]!.second_factors.join(',') || '-',
      user.groups.join(','),
    ]),
  ]
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)))
  for (const row of table)
    out(
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
}

/** users create <name>: the web's username and password rules, no registration policy. */
export async function createCommand({ db, config, now, out }: AdminContext, name: string): Promise<void> {
  parseInput(z.object({ username: Username }), { username: name })
  if (await findUserByUsername(db, name)) throw taken(name)
  await loadCommonPasswords()
  const input = parseInput(registrationInput(config.password.minLength), {
    username: name,
    password: await readNewPassword(name),
  })
  const hashing = { pool: hashPoolFor({ config }), cost: config.password.bcryptCost, client: 'admin-cli' }
  const passwordHash = await hashPassword(hashing, input.password)
  const user = await createUser(db, input.username, passwordHash, now).catch((error: unknown) => {
    throw isUniqueViolation(error) ? taken(name) : error
  })
  out(`created ${user.username}`)
}

/** users set-password <name>: a new password by the web's rules; every session of the user ends. */
export async function setPasswordCommand({ db, config, now, out }: AdminContext, name: string): Promise<void> {
  const user = await requireUser(db, name)
  await loadCommonPasswords()
  const input = parseInput(registrationInput(config.password.minLength), {
    username: user.username,
    password: await readNewPassword(user.username),
  })
  const hashing = { pool: hashPoolFor({ config }), cost: config.password.bcryptCost, client: 'admin-cli' }
  const passwordHash = await hashPassword(hashing, input.password)
  const revoked = await db.tx(async (tx) => {
    await updatePasswordHash(tx, user.id, passwordHash)
    return revokeAllUserSessions(tx, user.id, now)
  })
  out(`password of ${user.username} changed; ${sessionCount(revoked)} revoked`)
}

/** users delete <name> [--yes] */
export async function deleteCommand(
  { db, out }: AdminContext,
  name: string,
  options: { yes?: boolean },
): Promise<void> {
  const user = await requireUser(db, name)
  if (!options.yes) await confirm(`Delete the account ${user.username} and end its sessions?`)
  if (!(await deleteUser(db, user.id))) throw notFound(name)
  out(`deleted ${user.username}`)
}

/** users unlock <name>: forgets its failed sign-ins and lockouts, from every address. */
export async function unlockCommand({ db, out }: AdminContext, name: string): Promise<void> {
  const user = await requireUser(db, name)
  const cleared = await clearUserThrottling(db, user.username)
  out(
    cleared
      ? `unlocked ${user.username} (${cleared} throttling counter${cleared === 1 ? '' : 's'} cleared)`
      : `${user.username} was not throttled`,
  )
}

/** users reset-2fa <name>: removes its second factors and ends its sessions (lost phone and codes). */
export async function resetSecondFactorCommand({ db, now, out, log }: AdminContext, name: string): Promise<void> {
  const user = await requireUser(db, name)
  const { had, revoked } = await db.tx(async (tx) => ({
    had: await removeSecondFactors(tx, user.id),
    revoked: await revokeAllUserSessions(tx, user.id, now),
  }))
  log.warn({ event: 'second_factor_reset', userId: user.id, methods: had }, 'second factors reset by the admin CLI')
  out(
    had.length
      ? `second factors of ${user.username} removed (${had.join(', ')}); ${sessionCount(revoked)} revoked`
      : `${user.username} had no second factor; ${sessionCount(revoked)} revoked`,
  )
}

/** sessions revoke <name>: signs the user out everywhere. */
export async function revokeSessionsCommand({ db, now, out }: AdminContext, name: string): Promise<void> {
  const user = await requireUser(db, name)
  out(`${sessionCount(await revokeAllUserSessions(db, user.id, now))} of ${user.username} revoked`)
}

async function requireUser(db: AdminContext['db'], name: string): Promise<User> {
  const user = await findUserByUsername(db, name.includes('\0') ? '' : name)
  if (!user) throw notFound(name)
  return user
}

const sessionCount = (n: number) => `${n} session${n === 1 ? '' : 's'}`
const notFound = (name: string) => new CliError(EXIT.notFound, `no account named ${JSON.stringify(name)}`)
const taken = (name: string) =>
  new CliError(EXIT.conflict, `an account named ${JSON.stringify(name)} already exists (names ignore case)`)
