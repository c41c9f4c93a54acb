import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pgPromise from 'pg-promise'
import { pino } from 'pino'
import { loadConfig } from '#lib/platform/config.ts'
import { openDatabase } from '#lib/platform/database.ts'
import { serverDatabaseUrl } from '../helpers/runtime.ts'

const silent = pino({ level: 'silent' })
const MIGRATIONS = readdirSync(new URL('../../migrations', import.meta.url))
  .map((file) => file.replace(/\.sql$/, ''))
  .sort()

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
      expect(applied.map((row) => row.name)).toEqual(MIGRATIONS)
      // the schema is there and enforces case-insensitive uniqueness
      await second.db.none(`INSERT INTO users (username, password_hash) VALUES ('Alice', 'x')`)
      await expect(
        first.db.none(`INSERT INTO users (username, password_hash) VALUES ('alice', 'x')`),
      ).rejects.toMatchObject({
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
      expect(await handle.db.one('SELECT count(*)::int AS n FROM pgmigrations', [], (row) => row.n)).toBe(
        MIGRATIONS.length,
      )
    } finally {
      await handle.close()
    }
  })

  it("keeps its tables and its migration history in the schema the URL's search_path names", async () => {
    // two services sharing one database in two schemas must each get the whole schema
    const inSchema = async (schema: string) => {
      await admin.none('CREATE SCHEMA IF NOT EXISTS $1:name', [schema])
      const schemaUrl = new URL(url)
      schemaUrl.searchParams.set('options', `-c search_path=${schema}`)
      return loadConfig({ DATABASE_URL: schemaUrl.toString(), DATA_DIR: '/tmp/unused-by-server-mode' })
    }
    const migrateDb = pgp(url)
    await migrateDb.none('CREATE SCHEMA IF NOT EXISTS auth_a; CREATE SCHEMA IF NOT EXISTS auth_b')
    await migrateDb.$pool.end()
    const [a, b] = await Promise.all([
      openDatabase(await inSchema('auth_a'), silent),
      openDatabase(await inSchema('auth_b'), silent),
    ])
    try {
      for (const [handle, schema] of [
        [a, 'auth_a'],
        [b, 'auth_b'],
      ] as const) {
        const tables = await handle.db.map(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
          [schema],
          (row) => row.table_name,
        )
        expect(tables).toEqual(expect.arrayContaining(['pgmigrations', 'sessions', 'throttle', 'users']))
        expect(await handle.db.one('SELECT count(*)::int AS n FROM pgmigrations', [], (row) => row.n)).toBe(
          MIGRATIONS.length,
        )
      }
    } finally {
      await a.close()
      await b.close()
    }
  })
})
