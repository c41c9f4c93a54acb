// DATA_DIR holds the JWT signing secret and the embedded database's password: a directory others
// may write to (0777) would let a local user replace `jwt-secret` (issue 15). The service fixes the
// mode at start (no group access, others at most passing through, which the embedded PostgreSQL
// needs when it runs as another user) and says so in one line.
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { databaseKinds, startTestRuntime } from '../helpers/runtime.ts'

const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))))

describe('an existing DATA_DIR that others can read or write', () => {
  it.each([
    ['0777', '0701'],
    ['0755', '0701'],
    ['0750', '0700'],
    ['0700', '0700'],
    ['0701', '0701'],
  ])('of mode %s is %s once the service has started, and a change is logged once', async (from, to) => {
    const [mode, fixed] = [Number.parseInt(from, 8), Number.parseInt(to, 8)]
    const kind = databaseKinds()[0]!
    // started as root, the embedded PostgreSQL runs as another user, who must pass through (o+x)
    const passThrough = kind === 'embedded' && process.getuid?.() === 0 ? 0o001 : 0
    const dir = await mkdtemp(path.join(tmpdir(), 'ga-mode-'))
    dirs.push(dir)
    await chmod(dir, mode)
    const t = await startTestRuntime(kind, {}, dir, { captureLogs: true })
    try {
      expect((await stat(dir)).mode & 0o777).toBe(fixed | passThrough)
      const lines = t.logs().filter((line) => line.event === 'data_dir_mode_fixed')
      if (mode === fixed) expect(lines).toEqual([])
      else {
        expect(lines).toEqual([
          expect.objectContaining({
            level: 40,
            dataDir: dir,
            from,
            to,
          }),
        ])
      }
    } finally {
      await t.stop({ keepDataDir: true })
    }
  })
})
