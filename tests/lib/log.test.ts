// The logger's redaction, against a real pg-promise error: its formatted SQL carries the values.
import { describe, expect, it } from 'vitest'
import { createLogger } from '#lib/platform/log.ts'
import { startTestRuntime, databaseKinds } from '../helpers/runtime.ts'

describe('log redaction', () => {
  it('keeps the values of a failed query (its SQL, params and the failing row) out of the log', async () => {
    const t = await startTestRuntime(databaseKinds()[0]!)
    let text = ''
    const log = createLogger('info', { write: (chunk: string) => void (text += chunk) })
    try {
      const secret = '$2b$10$abcdefghijklmnopqrstuvCDEFGHIJKLMNOPQRSTUVWXYZ012345'
      const error = await t.runtime.db.one('SELECT $1::text AS s FROM no_such_table', [secret]).catch((e: unknown) => e)
      expect(JSON.stringify((error as { query?: string }).query)).toContain('abcdefghijklmnop')
      log.error({ err: error }, 'request failed')
      expect(text).toContain('request failed')
      expect(text).toContain('no_such_table') // the cause stays readable
      expect(text).not.toContain('abcdefghijklmnop')

      // PostgreSQL's detail names the row that broke a constraint
      await t.runtime.db.none('CREATE TEMP TABLE leak (hash text CHECK (hash = $1))', ['never'])
      const violation = await t.runtime.db.none('INSERT INTO leak VALUES ($1)', [secret]).catch((e: unknown) => e)
      expect(String((violation as { detail?: string }).detail)).toContain('abcdefghijklmnop')
      log.error({ err: violation }, 'request failed')
      expect(text).toContain('23514')
      expect(text).not.toContain('abcdefghijklmnop')
    } finally {
      await t.stop()
    }
  })
})
