// One database per test run on the PostgreSQL server named by TEST_DATABASE_URL, dropped after.
// Without TEST_DATABASE_URL the server half of the suite is skipped (with a notice); CI sets it.
import { randomBytes } from 'node:crypto'
import type { TestProject } from 'vitest/node'
import pgPromise from 'pg-promise'
import { CHROMIUM, HAS_CHROMIUM } from './browser.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    serverDatabaseUrl: string | undefined
  }
}

export default async function setup(project: TestProject) {
  if (!HAS_CHROMIUM) {
    console.warn(
      `\n[gateway-auth] no Chromium at ${CHROMIUM}: the browser tests are skipped (apt-get install chromium, or set CHROMIUM_PATH).\n`,
    )
  }
  const adminUrl = process.env.TEST_DATABASE_URL
  if (!adminUrl) {
    console.warn('\n[gateway-auth] TEST_DATABASE_URL is unset: tests against the PostgreSQL server are skipped.\n')
    project.provide('serverDatabaseUrl', undefined)
    return
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
  }
}
