// Groups: names on an account that the access rules (lib/platform/access-rules.ts) check. The first account
// is in ADMINS (a trigger, migrations/1769000000000_groups.sql); admins see the gateway's host
// details.
import * as z from 'zod'
import type { Queryable } from '../platform/database.ts'
import { GROUP_PATTERN } from '../platform/access-rules.ts'

export const ADMINS = 'admins'
export const GroupName = z
  .string()
  .regex(GROUP_PATTERN, 'a group name is 1 to 32 of a-z 0-9 . _ - (lower case), starting with a letter or digit')

/** True when the account is in `group`. */
export const isInGroup = (user: { readonly groups: readonly string[] }, group: string) => user.groups.includes(group)

/** The groups after adding `add` and removing `remove` (sorted, each once). */
export function changedGroups(groups: readonly string[], add: readonly string[], remove: readonly string[]): string[] {
  return [...new Set([...groups, ...add])].filter((group) => !remove.includes(group)).sort()
}

/** Stores the account's groups; returns them as stored. */
export async function setUserGroups(db: Queryable, userId: string, groups: readonly string[]): Promise<string[]> {
  const row = await db.one<{ groups: string[] }>('UPDATE users SET groups = $2 WHERE id = $1 RETURNING groups', [
    userId,
    [...groups],
  ])
  return row.groups
}

/** How many accounts are in `group` (the CLI keeps at least one admin). */
export async function countGroupMembers(db: Queryable, group: string): Promise<number> {
  const row = await db.one<{ count: number }>('SELECT count(*)::int AS count FROM users WHERE $1 = ANY (groups)', [
    group,
  ])
  return row.count
}
