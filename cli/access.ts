// gateway-auth users groups … and gateway-auth access …: who is in which group, and what the
// access rules (ACCESS_RULES) make of an account and a URL, through the service's own lib/
// functions, so the answer is the one the proxy would get.
import * as z from 'zod'
import type { AdminContext } from './context.ts'
import { CliError, EXIT } from './exit-codes.ts'
import { ADMINS, changedGroups, countGroupMembers, GroupName, setUserGroups } from '#lib/auth/groups.ts'
import { findUserByUsername, type User } from '#lib/auth/users.ts'
import { decideAccess, explainDecision } from '#lib/auth/access.ts'
import { AccessRulesError, loadAccessRules } from '#lib/platform/access-rules.ts'
import { parseInput } from '#lib/auth/validation.ts'

/** users groups <name> [--add g…] [--remove g…]: prints the groups after the change. */
export async function groupsCommand(
  { db, out }: AdminContext,
  name: string,
  options: { add?: string[]; remove?: string[] },
): Promise<void> {
  const add = parseGroups(options.add)
  const remove = parseGroups(options.remove)
  const user = await requireUser(db, name)
  const groups = changedGroups(user.groups, add, remove)
  if (add.length || remove.length) {
    await db.tx(async (tx) => {
      // lock the admins' rows: two admins removing each other at once cannot leave none
      await tx.any('SELECT id FROM users WHERE $1 = ANY (groups) FOR UPDATE', [ADMINS])
      const leavesNoAdmin =
        user.groups.includes(ADMINS) && !groups.includes(ADMINS) && (await countGroupMembers(tx, ADMINS)) <= 1
      if (leavesNoAdmin) {
        throw new CliError(EXIT.conflict, `${user.username} is the last account in ${ADMINS}; add another admin first`)
      }
      await setUserGroups(tx, user.id, groups)
    })
  }
  out(`${user.username}: ${groups.length ? groups.join(', ') : '(no groups)'}`)
}

/** access <name> <url> [--rules file]: allowed or why not; exit 0 allowed, 7 denied. */
export async function accessCommand(
  { config, db, out }: AdminContext,
  name: string,
  url: string,
  options: { rules?: string },
): Promise<void> {
  const file = options.rules ?? config.frontDoor.accessRules
  if (!file) throw new CliError(EXIT.invalid, 'no rules: set ACCESS_RULES or pass --rules <file>')
  const target = URL.canParse(url) ? new URL(url) : undefined
  if (!target || !/^https?:$/.test(target.protocol)) {
    throw new CliError(EXIT.invalid, `${JSON.stringify(url)} is not an http:// or https:// URL`)
  }
  const rules = await loadAccessRules(file).catch((error: unknown) => {
    if (!(error instanceof AccessRulesError)) throw error
    const [last, ...before] = error.message.split('\n').reverse()
    throw new CliError(EXIT.invalid, last!, before.reverse())
  })
  const user = await requireUser(db, name)
  const decision = decideAccess(rules, user, target)
  out(`${user.username} → ${target.href}: ${explainDecision(decision, user)}`)
  if (!decision.allowed) throw new CliError(EXIT.denied, 'access denied', [])
}

function parseGroups(values: string[] | undefined): string[] {
  const groups = (values ?? []).flatMap((value) => value.split(',')).map((group) => group.trim())
  for (const group of groups) parseInput(z.object({ group: GroupName }), { group })
  return groups
}

async function requireUser(db: AdminContext['db'], name: string): Promise<User> {
  const user = await findUserByUsername(db, name.includes('\0') ? '' : name)
  if (!user) throw new CliError(EXIT.notFound, `no account named ${JSON.stringify(name)}`)
  return user
}
