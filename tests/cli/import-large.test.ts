// `gateway-auth import` of a large export within the heap `npm start` gives the service
// (--max-old-space-size=64): the file is read line by line and written in bounded batches inside
// one transaction (issue 15: 110,000 accounts overflowed the stack, 10,000 ran out of heap). And
// `export -o` never replaces a file silently. The 110,000-account run: tests/slow/import-150k.test.ts.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import bcrypt from 'bcryptjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serverDatabaseUrl, startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { expectExit, runCli } from '../helpers/cli.ts'
import { writeLargeExport } from '../helpers/large-export.ts'

const HEAP = { NODE_OPTIONS: '--max-old-space-size=64' }

// spawned CLIs writing tens of thousands of rows: minutes on a loaded machine, not the default 30 s
describe.skipIf(!serverDatabaseUrl())('import and export of many accounts', { timeout: 240_000 }, () => {
  let t: TestRuntime
  let dir: string
  let env: Record<string, string>
  beforeAll(async () => {
    t = await startTestRuntime('server')
    dir = await mkdtemp(path.join(tmpdir(), 'ga-large-'))
    env = { DATABASE_URL: t.runtime.config.database.url!, ...HEAP }
  })
  afterAll(async () => {
    await t?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('imports 10,000 accounts in a 64 MB heap, and a second import finds them all unchanged', async () => {
    const file = path.join(dir, 'accounts.jsonl')
    const hash = bcrypt.hashSync('harbor lantern quartz meadow', 10)
    await writeLargeExport(file, 10_000, hash, 'many')
    const first = await runCli(['import', file], env)
    expect(first.stderr).toBe('')
    expectExit(first, 0)
    expect(first.stdout).toBe(`10000 accounts in ${file}: 10000 created, 0 unchanged, 0 skipped, 0 overwritten\n`)
    const { count } = await t.runtime.db.one<{ count: number }>(
      "SELECT count(*)::int AS count FROM users WHERE username LIKE 'many-%'",
    )
    expect(count).toBe(10_000)
    const again = await runCli(['import', file], env)
    expectExit(again, 0)
    expect(again.stdout).toMatch(/: 0 created, 10000 unchanged,/)
  })

  it('export -o refuses to replace an existing file unless --force is given', async () => {
    const file = path.join(dir, 'existing.jsonl')
    await writeFile(file, 'keep me\n', { mode: 0o600 })
    const refused = await runCli(['export', '-o', file], env)
    expectExit(refused, 1, /already exists.*--force/)
    expect(await readFile(file, 'utf8')).toBe('keep me\n')
    const forced = await runCli(['export', '-o', file, '--force'], env)
    expectExit(forced, 0)
    expect((await readFile(file, 'utf8')).split('\n')[0]).toMatch(/"format":"gateway-auth\/accounts"/)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
  })
})
