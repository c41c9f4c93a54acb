// A generated export of many accounts for the large-import tests: one precomputed hash reused (a
// real bcrypt hash, so every line passes the checks), names `<prefix>-<n>`.
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'

/** Writes an export of `accounts` accounts to `file`, streamed so the test itself stays small. */
export async function writeLargeExport(file: string, accounts: number, hash: string, prefix: string): Promise<void> {
  const out = createWriteStream(file, { mode: 0o600 })
  const header = { format: 'gateway-auth/accounts', version: 1, exported_at: new Date().toISOString(), accounts }
  out.write(`${JSON.stringify(header)}\n`)
  const created = '2026-11-01T10:00:00.000Z'
  for (let i = 0; i < accounts; i++) {
    const line = {
      username: `${prefix}-${i}`,
      password_hash: hash,
      created_at: created,
      last_login_time: null,
      previous_login_time: null,
    }
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}
