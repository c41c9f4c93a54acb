// The commonly used passwords refused at registration and password change: the 49,000-entry list
// maintained by zxcvbn-ts (@zxcvbn-ts/language-common), compared case-insensitively.
import { dictionary } from '@zxcvbn-ts/language-common'

let common: Set<string> | undefined

/** True when the password (in any letter case) is on the common-password list. */
export function isCommonPassword(password: string): boolean {
  // built on first use, not at import: a cold Lambda serving a GET never pays for it
  common ??= new Set((dictionary as Record<string, string[]>)['passwords-common']!.map((entry) => entry.toLowerCase()))
  return common.has(password.toLowerCase())
}

export const commonPasswordCount = () => (dictionary as Record<string, string[]>)['passwords-common']!.length
