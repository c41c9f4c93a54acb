// Once per test run:
// - an embedded cluster made the service's way (initdb, start, migrations, clean stop) in a
//   DATA_DIR of its own; each embedded test runtime starts from a copy of it (tests/helpers/runtime.ts)
//   instead of running initdb and the migrations again. The first start itself keeps its own
//   tests: tests/lib/embedded-postgres*.test.ts and tests/lib/data-dir.test.ts start empty DATA_DIRs.
// - one database on the PostgreSQL server named by TEST_DATABASE_URL, dropped after. Without
//   TEST_DATABASE_URL the server half of the suite is skipped (with a notice); CI sets it.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import pgPromise from 'pg-promise'
import { loadConfig } from '#lib/platform/config.ts'
import { openDatabase } from '#lib/platform/database.ts'
import { createLogger } from '#lib/platform/log.ts'
import { CHROMIUM, HAS_CHROMIUM } from './browser.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    serverDatabaseUrl: string | undefined
    /** A DATA_DIR holding a stopped, migrated embedded cluster and its password file. */
    embeddedTemplate: string
  }
}

export default async function setup(project: TestProject) {
  // where the tests' temporary files go (vitest.config.ts may point TMPDIR at memory for them)
  const template = await mkdtemp(path.join(project.config.env?.TMPDIR ?? tmpdir(), 'ga-template-'))
  const config = loadConfig({ DATA_DIR: template, LOG_LEVEL: 'silent' })
  await (await openDatabase(config, createLogger('silent'))).close()
  project.provide('embeddedTemplate', template)
  const removeTemplate = () => rm(template, { recursive: true, force: true })
  if (!HAS_CHROMIUM) {
    console.warn(
      `\n[gateway-auth] no Chromium at ${CHROMIUM}: the browser tests are skipped (apt-get install chromium, or set CHROMIUM_PATH).\n`,
    )
  }
  const adminUrl = process.env.TEST_DATABASE_URL
  if (!adminUrl) {
    console.warn('\n[gateway-auth] TEST_DATABASE_URL is unset: tests against the PostgreSQL server are skipped.\n')
    project.provide('serverDatabaseUrl', undefined)
    return removeTemplate
  }
  const pgp = pgPromise()
  const admin = pgp(adminUrl)
  const name = `gateway_auth_test_${randomBytes(6).toString('hex')}`
  await admin.none('CREATE DATABASE $1:name', [name])
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  project.provide('serverDatabaseUrl', url.toString())
  return async () => {
    await admin.none('DROP DATABASE IF EXISTS $1:name WITH (FORCE)', [name])
    pgp.end()
    await removeTemplate()
  }
}
