import { availableParallelism } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '#lib/platform/config.ts'

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('the configuration was accepted')
}

describe('loadConfig', () => {
  it('uses the defaults of the contract table when nothing is set', () => {
    const config = loadConfig({})
    expect(config).toEqual({
      port: 8085,
      listenAddress: undefined,
      platform: 'server',
      database: { url: undefined, embeddedUser: undefined, poolMax: 10, migrateOnStart: true },
      dataDir: path.resolve('./data'),
      jwt: { secret: undefined, issuer: 'gateway-auth', audience: 'gateway-auth' },
      session: { ttlSeconds: 3600, maxPerUser: 10, cacheEntries: 1000 },
      password: { bcryptCost: 10, minLength: 15 },
      hashing: { workers: Math.max(1, availableParallelism() - 1), queue: 64, perClient: 4 },
      throttle: {
        maxFailures: 5,
        lockoutSeconds: 60,
        maxLockoutSeconds: 3600,
        clientMaxFailuresPerHour: 30,
        registrationsPerHour: 10,
        successesPerMinute: 10,
      },
      limits: {
        connections: 512,
        connectionsPerClient: 32,
        bodyBytesInFlight: 1_048_576,
        requestTimeoutSeconds: 30,
        heapShedPercent: 80,
      },
      registration: 'first',
      requireSecondFactor: 'off',
      sweepIntervalSeconds: 3600,
      trustProxy: [],
      allowedHosts: [],
      frontDoor: { accessRules: undefined, cookieDomain: undefined, authOrigin: undefined },
      logLevel: 'info',
    })
  })

  it('reads ALLOWED_HOSTS as lower-case names, .domains or *, and refuses anything else by name', () => {
    expect(
      loadConfig({ ALLOWED_HOSTS: 'Auth.Example.com, .lan.example ,*,192.168.1.20,[fe80::1]' }).allowedHosts,
    ).toEqual(['auth.example.com', '.lan.example', '*', '192.168.1.20', '[fe80::1]'])
    for (const bad of ['auth.example.com:8085', 'http://auth.example.com', 'a b', 'auth..example', '*.example.com']) {
      expect(() => loadConfig({ ALLOWED_HOSTS: bad }), bad).toThrow(/^ALLOWED_HOSTS must be/)
    }
  })

  it('treats empty variables as unset', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', JWT_SECRET: '', TRUST_PROXY: '', BCRYPT_COST: '' })
    expect(config.port).toBe(8085)
    expect(config.database.url).toBeUndefined()
    expect(config.jwt.secret).toBeUndefined()
    expect(config.password.bcryptCost).toBe(10)
  })

  it('reads every variable it knows', () => {
    const config = loadConfig({
      PORT: '9000',
      DATABASE_URL: 'postgresql://app:pw@db:5432/auth',
      DATA_DIR: '/var/lib/gateway-auth',
      JWT_SECRET: 'k'.repeat(32),
      SESSION_TTL_SECONDS: '600',
      BCRYPT_COST: '12',
      PASSWORD_MIN_LENGTH: '8',
      TRUST_PROXY: ' 10.0.0.1 , 192.168.0.0/16,, loopback ',
      JWT_ISSUER: 'gw-1',
      JWT_AUDIENCE: 'gw-api',
      LOGIN_MAX_FAILURES: '3',
      LOGIN_LOCKOUT_SECONDS: '30',
      LOGIN_LOCKOUT_MAX_SECONDS: '600',
      LOGIN_CLIENT_MAX_FAILURES: '50',
      REGISTRATIONS_PER_HOUR: '4',
      REGISTRATION: 'closed',
      LOGIN_SUCCESSES_PER_MINUTE: '20',
      SESSIONS_PER_USER: '3',
      SESSION_CACHE_ENTRIES: '0',
      HASH_WORKERS: '3',
      HASH_QUEUE: '0',
      HASH_PER_CLIENT: '2',
      SWEEP_INTERVAL_SECONDS: '15',
      LISTEN_ADDRESS: '::1',
      MAX_CONNECTIONS: '100',
      MAX_CONNECTIONS_PER_CLIENT: '10',
      BODY_BYTES_IN_FLIGHT: '65536',
      REQUEST_TIMEOUT_SECONDS: '5',
      HEAP_SHED_PERCENT: '70',
    })
    expect(config).toMatchObject({
      port: 9000,
      listenAddress: '::1',
      limits: {
        connections: 100,
        connectionsPerClient: 10,
        bodyBytesInFlight: 65_536,
        requestTimeoutSeconds: 5,
        heapShedPercent: 70,
      },
      database: { url: 'postgresql://app:pw@db:5432/auth' },
      dataDir: '/var/lib/gateway-auth',
      jwt: { secret: 'k'.repeat(32), issuer: 'gw-1', audience: 'gw-api' },
      session: { ttlSeconds: 600, maxPerUser: 3, cacheEntries: 0 },
      password: { bcryptCost: 12, minLength: 8 },
      hashing: { workers: 3, queue: 0, perClient: 2 },
      trustProxy: ['10.0.0.1', '192.168.0.0/16', 'loopback'],
      sweepIntervalSeconds: 15,
      throttle: {
        maxFailures: 3,
        lockoutSeconds: 30,
        maxLockoutSeconds: 600,
        clientMaxFailuresPerHour: 50,
        registrationsPerHour: 4,
        successesPerMinute: 20,
      },
      registration: 'closed',
    })
  })

  it('never lets the longest lockout be shorter than the first', () => {
    const config = loadConfig({ LOGIN_LOCKOUT_SECONDS: '900', LOGIN_LOCKOUT_MAX_SECONDS: '60' })
    expect(config.throttle).toMatchObject({ lockoutSeconds: 900, maxLockoutSeconds: 900 })
  })

  it('never lets one client hold more connections than all clients together', () => {
    const config = loadConfig({ MAX_CONNECTIONS: '16', MAX_CONNECTIONS_PER_CLIENT: '64' })
    expect(config.limits).toMatchObject({ connections: 16, connectionsPerClient: 16 })
  })

  it('returns a frozen object, nested parts included', () => {
    const config = loadConfig({})
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.jwt)).toBe(true)
    expect(Object.isFrozen(config.trustProxy)).toBe(true)
  })

  it.each([
    ['PORT', '0'],
    ['LOGIN_MAX_FAILURES', '0'],
    ['REGISTRATIONS_PER_HOUR', 'many'],
    ['SWEEP_INTERVAL_SECONDS', '0'],
    ['SWEEP_INTERVAL_SECONDS', '86401'],
    ['LOGIN_LOCKOUT_SECONDS', '-5'],
    ['PORT', '65536'],
    ['PORT', 'http'],
    ['PORT', '80.5'],
    ['PORT', '1e3'],
    ['PORT', '-1'],
    ['SESSION_TTL_SECONDS', '59'],
    ['SESSION_TTL_SECONDS', 'an hour'],
    ['BCRYPT_COST', '9'],
    ['BCRYPT_COST', '16'],
    ['PASSWORD_MIN_LENGTH', '7'],
    ['PASSWORD_MIN_LENGTH', '65'],
    ['DATABASE_URL', 'mysql://db/auth'],
    ['DATABASE_URL', 'db.local:5432'],
    ['JWT_SECRET', 'too short'],
    ['JWT_ISSUER', '   '],
    ['JWT_AUDIENCE', '   '],
    ['DATA_DIR', '  '],
    ['LOG_LEVEL', 'verbose'],
    ['REGISTRATION', 'invite'],
    ['REGISTRATION', 'Open'],
    ['TRUST_PROXY', 'proxy.local'],
    ['TRUST_PROXY', '10.0.0.1, 10.0.0.300'],
    ['LISTEN_ADDRESS', 'localhost'],
    ['LISTEN_ADDRESS', '127.0.0.1:8085'],
    ['LISTEN_ADDRESS', '10.0.0.300'],
    ['MAX_CONNECTIONS', '7'],
    ['MAX_CONNECTIONS_PER_CLIENT', '0'],
    ['BODY_BYTES_IN_FLIGHT', '16384'],
    ['REQUEST_TIMEOUT_SECONDS', '0'],
    ['HEAP_SHED_PERCENT', '100'],
  ])('refuses %s=%j with one line naming it', (name, value) => {
    const message = configError({ [name]: value })
    expect(message.split('\n')).toHaveLength(1)
    expect(message).toContain(name)
  })

  it('names every bad variable, one line each', () => {
    const lines = configError({ PORT: '0', BCRYPT_COST: '99', LOG_LEVEL: 'loud' }).split('\n')
    expect(lines).toHaveLength(3)
    expect(lines.join('\n')).toMatch(/PORT/)
    expect(lines.join('\n')).toMatch(/BCRYPT_COST/)
    expect(lines.join('\n')).toMatch(/LOG_LEVEL/)
  })

  it('refuses a JWT_SECRET under 32 bytes without echoing it', () => {
    const secret = 'hunter2-but-longer-31-bytes-x..'
    expect(Buffer.byteLength(secret)).toBe(31)
    const message = configError({ JWT_SECRET: secret })
    expect(message).toMatch(/JWT_SECRET/)
    expect(message).toMatch(/32 bytes/)
    expect(message).not.toContain(secret)
    expect(message).not.toContain('hunter2')
  })

  it('measures JWT_SECRET in bytes: 8 four-byte characters are enough', () => {
    expect(loadConfig({ JWT_SECRET: '🔑'.repeat(8) }).jwt.secret).toBe('🔑'.repeat(8))
  })

  it('never puts the DATABASE_URL password into the message', () => {
    const message = configError({ DATABASE_URL: 'mysql://app:s3cr3t-pw@db.local/auth', PORT: 'x' })
    expect(message).toMatch(/DATABASE_URL/)
    expect(message).not.toContain('s3cr3t-pw')
    expect(message).not.toContain('db.local')
  })

  it('does not echo a valid DATABASE_URL or JWT_SECRET when another variable is bad', () => {
    const message = configError({
      DATABASE_URL: 'postgres://app:s3cr3t-pw@db/auth',
      JWT_SECRET: 'q'.repeat(40),
      PORT: 'x',
    })
    expect(message).not.toContain('s3cr3t-pw')
    expect(message).not.toContain('q'.repeat(40))
  })
})
