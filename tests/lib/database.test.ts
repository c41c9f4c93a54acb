import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pgPromise from 'pg-promise'
import { pino } from 'pino'
import { loadConfig } from '#lib/config.ts'
import { openDatabase } from '#lib/database.ts'
import { serverDatabaseUrl } from '../helpers/runtime.ts'

const silent = pino({ level: 'silent' })

describe.skipIf(!serverDatabaseUrl())('migrations (server database)', () => {
  const pgp = pgPromise()
  const name = `gateway_auth_migrate_${randomBytes(4).toString('hex')}`
  let admin: ReturnType<typeof pgp>
  let url: string

  beforeAll(async () => {
    admin = pgp(serverDatabaseUrl()!)
    await admin.none('CREATE DATABASE $1:name', [name])
    const parsed = new URL(serverDatabaseUrl()!)
    parsed.pathname = `/${name}`
    url = parsed.toString()
  })
  afterAll(async () => {
    await admin.none('DROP DATABASE IF EXISTS $1:name WITH (FORCE)', [name])
    pgp.end()
  })

  it('applies each migration once when two instances start at the same time', async () => {
    const config = loadConfig({ DATABASE_URL: url, DATA_DIR: '/tmp/unused-by-server-mode' })
    const [first, second] = await Promise.all([openDatabase(config, silent), openDatabase(config, silent)])
    try {
      const applied = await first.db.many('SELECT name FROM pgmigrations ORDER BY id')
      expect(applied.map((row) => row.name)).toEqual(['1732406400000_users-and-sessions'])
      // the schema is there and enforces case-insensitive uniqueness
      await second.db.none(`INSERT INTO users (username, password_hash) VALUES ('Alice', 'x')`)
      await expect(first.db.none(`INSERT INTO users (username, password_hash) VALUES ('alice', 'x')`)).rejects.toMatchObject({
        code: '23505',
      })
    } finally {
      await first.close()
      await second.close()
    }
  })

  it('starts again on a migrated database without reapplying anything', async () => {
    const config = loadConfig({ DATABASE_URL: url, DATA_DIR: '/tmp/unused-by-server-mode' })
    const handle = await openDatabase(config, silent)
    try {
      expect(await handle.db.one('SELECT count(*)::int AS n FROM pgmigrations', [], (row) => row.n)).toBe(1)
    } finally {
      await handle.close()
    }
  })
})
