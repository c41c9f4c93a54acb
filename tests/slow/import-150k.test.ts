// The external probe's import (issue 15): 150,000 accounts overflowed the stack (a spread push),
// and 50,000 ran out of heap under `npm start`'s flags. Here the CLI runs with those flags
// (NODE_OPTIONS: --max-old-space-size=64 --max-semi-space-size=1) and imports 150,000 accounts.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import bcrypt from 'bcryptjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serverDatabaseUrl, startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { expectExit, runCli } from '../helpers/cli.ts'
import { writeLargeExport } from '../helpers/large-export.ts'

const ACCOUNTS = 150_000

describe.skipIf(!serverDatabaseUrl())('import of 150,000 accounts', () => {
  let t: TestRuntime
  let dir: string
  beforeAll(async () => {
    t = await startTestRuntime('server')
    dir = await mkdtemp(path.join(tmpdir(), 'ga-150k-'))
  })
  afterAll(async () => {
    await t?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('imports them all in the heap npm start uses', { timeout: 300_000 }, async () => {
    const file = path.join(dir, 'accounts.jsonl')
    await writeLargeExport(file, ACCOUNTS, bcrypt.hashSync('harbor lantern quartz meadow', 10), 'probe')
    const env = {
      DATABASE_URL: t.runtime.config.database.url!,
      NODE_OPTIONS: '--max-old-space-size=64 --max-semi-space-size=1',
    }
    const started = Date.now()
    const run = await runCli(['import', file], env)
    expectExit(run, 0)
    expect(run.stdout).toBe(
      `${ACCOUNTS} accounts in ${file}: ${ACCOUNTS} created, 0 unchanged, 0 skipped, 0 overwritten\n`,
    )
    const { count } = await t.runtime.db.one<{ count: number }>(
      "SELECT count(*)::int AS count FROM users WHERE username LIKE 'probe-%'",
    )
    expect(count).toBe(ACCOUNTS)
    console.info(`imported ${ACCOUNTS} accounts in ${Date.now() - started} ms`)
  })
})
