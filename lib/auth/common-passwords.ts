// The commonly used passwords refused at registration and password change: the 49,000-entry list
// maintained by zxcvbn-ts (@zxcvbn-ts/language-common), compared case-insensitively.
// The package decompresses all its dictionaries when imported (~7 MB of RSS, ~5 MB of heap,
// measured for issue 19), so it is imported by loadCommonPasswords(), which every path that parses
// input awaits first (lib/http/validate-input.ts, the admin CLI), not when the routes load.

let common: ReadonlySet<string> | undefined
let loading: Promise<ReadonlySet<string>> | undefined

async function importList(): Promise<ReadonlySet<string>> {
  const loaded: { dictionary?: unknown; default?: { dictionary?: unknown } } = await import(
    '@zxcvbn-ts/language-common'
  )
  // a CommonJS package: Node names its exports, an esbuild bundle (Lambda) only gives `default`
  const dictionary = (loaded.dictionary ?? loaded.default?.dictionary) as Record<string, string[]>
  const list = dictionary['passwords-common']!
  return new Set(list.map((entry) => entry.toLowerCase()))
}

/** Loads the list once; isCommonPassword may be called when this has resolved. */
export function loadCommonPasswords(): Promise<ReadonlySet<string>> {
  loading ??= importList().then((set) => (common = set))
  // a failed import is tried again next time
  loading.catch(() => (loading = undefined))
  return loading
}

/** True when the password (in any letter case) is on the common-password list. */
export function isCommonPassword(password: string): boolean {
  if (!common) throw new Error('the common-password list is used before loadCommonPasswords() resolved')
  return common.has(password.toLowerCase())
}

/** How many passwords the list holds (loads it). */
export const commonPasswordCount = async () => (await loadCommonPasswords()).size
