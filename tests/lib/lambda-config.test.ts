// On AWS Lambda (AWS_LAMBDA_FUNCTION_NAME set) the service needs its database and its signing key
// from outside: no embedded PostgreSQL, no secret generated under /var/task. One connection per
// execution environment, and no migration on a cold start.
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '#lib/platform/config.ts'

const LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: 'gateway-auth-login' }
const SECRET = 'k'.repeat(40)
const URL = 'postgres://auth:hunter2hunter2@db.example:5432/auth'

describe('configuration on AWS Lambda', () => {
  it('refuses to start without DATABASE_URL and JWT_SECRET, naming both', () => {
    expect(() => loadConfig(LAMBDA)).toThrow(ConfigError)
    expect(() => loadConfig(LAMBDA)).toThrow(
      /DATABASE_URL is required on AWS Lambda[\s\S]*JWT_SECRET is required on AWS Lambda/,
    )
  })

  it('names only what is missing, and never echoes the value that was given', () => {
    let message = ''
    try {
      loadConfig({ ...LAMBDA, DATABASE_URL: URL })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toBe('JWT_SECRET is required on AWS Lambda (a generated one would not be shared by the functions)')
    expect(message).not.toContain('hunter2')
    expect(() => loadConfig({ ...LAMBDA, JWT_SECRET: SECRET })).toThrow(/^DATABASE_URL is required/)
  })

  it('treats blank values as missing', () => {
    expect(() => loadConfig({ ...LAMBDA, DATABASE_URL: '', JWT_SECRET: '' })).toThrow(/DATABASE_URL[\s\S]*JWT_SECRET/)
  })

  it('uses one pooled connection and leaves migrations to the deploy step', () => {
    const config = loadConfig({ ...LAMBDA, DATABASE_URL: URL, JWT_SECRET: SECRET })
    expect(config.platform).toBe('lambda')
    expect(config.database).toMatchObject({ url: URL, poolMax: 1, migrateOnStart: false })
  })

  it('keeps the gateway defaults off Lambda: embedded allowed, a pool of 10, migrate at start', () => {
    const config = loadConfig({})
    expect(config.platform).toBe('server')
    expect(config.database).toMatchObject({ url: undefined, poolMax: 10, migrateOnStart: true })
  })
})
