// docker-compose.yml (and the server-database variant) checked the way balena checks them: through
// balena's own compose parser, @balena/compose 7 (balena-cli before v25; v25's parser is a Go binary
// that cannot be installed here), and through Docker Compose's own `config` (Debian's docker-compose,
// which .ci/run installs: it needs no engine). Plus what a small shared gateway needs from them, and balena.yml.
import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { normalize, parse, type Composition } from '@balena/compose/dist/parse/index.js'
import yaml from 'js-yaml'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')
const load = async (file: string) => yaml.load(await readFile(path.join(ROOT, file), 'utf8')) as Record<string, unknown>
const balenaParse = async (file: string): Promise<Composition> => normalize(await load(file))
// bytes from a compose size ('384m'), seconds from a duration ('20s')
const bytes = (size: string) =>
  Number(size.slice(0, -1)) * { k: 1 << 10, m: 1 << 20, g: 1 << 30 }[size.at(-1)!.toLowerCase()]!
const secondsOf = (duration: string) => Number(/^(\d+)s$/.exec(duration)![1])

/** Docker Compose's command, if this machine has one: the plugin, else Debian's docker-compose. */
function composeCommand(): string[] | undefined {
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    try {
      execFileSync(command[0]!, [...command.slice(1), 'version'], { stdio: 'ignore' })
      return command
    } catch {}
  }
  return undefined
}
const compose = composeCommand()
if (!compose) console.warn('no docker compose: its `config` check is skipped (.ci/run installs docker-compose)')

describe.each(['docker-compose.yml', 'docker-compose.db.yml'])('%s through balena’s parser', (file) => {
  it.skipIf(!compose)('is accepted by `docker compose config`, with the same services', async () => {
    const config = execFileSync(compose![0]!, [...compose!.slice(1), '-f', file, 'config'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const services = Object.keys((yaml.load(config) as { services: object }).services).sort()
    expect(services).toEqual(Object.keys((await balenaParse(file)).services).sort())
  })

  it('is accepted and parses into services balena can build', async () => {
    const composition = await balenaParse(file)
    expect(composition.version).toBe('2.4')
    const images = parse(composition)
    expect(images.map((image) => image.serviceName)).toContain('gateway-auth')
  })

  it('keeps within what balena-cli 25 (compose-go) also accepts: no logging, platform, container_name', async () => {
    const raw = await load(file)
    for (const service of Object.values(raw.services as Record<string, Record<string, unknown>>)) {
      for (const key of ['logging', 'platform', 'container_name', 'deploy', 'secrets', 'configs'])
        expect(service).not.toHaveProperty(key)
    }
  })

  it('caps memory, gives a stop grace period, checks health, and keeps download-then-kill', async () => {
    const composition = await balenaParse(file)
    for (const [name, service] of Object.entries(composition.services)) {
      expect(bytes(String(service.mem_limit)), name).toBeLessThanOrEqual(512 * 2 ** 20)
      // the service itself stops in 1-2 s; more than balena's 10 s default for a checkpoint on an SD card
      expect(secondsOf(String(service.stop_grace_period)), name).toBeGreaterThanOrEqual(10)
      expect(service.healthcheck?.test, name).toBeDefined()
      expect(service.labels?.['io.balena.update.strategy'], name).toBe('download-then-kill')
    }
  })

  it('health-checks the port the service listens on', async () => {
    const service = (await balenaParse(file)).services['gateway-auth']!
    const port = (service.environment as Record<string, string>).PORT
    expect(String(service.healthcheck!.test)).toContain(`127.0.0.1:${port}/health`)
    expect(service.expose).toEqual([port])
  })

  it('publishes only the proxy’s port: the service and the apps are reachable only through the front door', async () => {
    const { services } = await balenaParse(file)
    const published = Object.entries(services).filter(([, service]) => service.ports?.length)
    expect(published.map(([name, service]) => [name, service.ports])).toEqual([['proxy', ['80:80']]])
    expect(services.proxy!.build).toMatchObject({ context: './proxy' })
    const caddyfile = await readFile(path.join(ROOT, 'proxy/Caddyfile'), 'utf8')
    expect(caddyfile).toContain('forward_auth {$AUTH_UPSTREAM:gateway-auth:8085}')
    const environment = services['gateway-auth']!.environment as Record<string, string>
    expect(environment.ACCESS_RULES).toBe('/app/proxy/access-rules.yml')
    expect(await readFile(path.join(ROOT, 'Dockerfile'), 'utf8')).toContain('COPY proxy/access-rules.yml')
  })

  it('gives gateway-auth the supervisor API, saying on the line before what the key grants', async () => {
    const service = (await balenaParse(file)).services['gateway-auth']!
    expect(service.labels?.['io.balena.features.supervisor-api']).toBe('1')
    const text = await readFile(path.join(ROOT, file), 'utf8')
    const comment = /((?:^ *#.*\n)+) *io\.balena\.features\.supervisor-api:/m.exec(text)?.[1] ?? ''
    expect(comment).toMatch(/restart or stop any service, reboot/)
    expect(comment).toMatch(/one\s+(?:#\s+)?write: an admin's restart of the packet forwarder/)
  })

  it('writes no secret into the file', async () => {
    const text = await readFile(path.join(ROOT, file), 'utf8')
    expect(text).not.toMatch(/^\s*(JWT_SECRET|PGPASSWORD|POSTGRES_PASSWORD)\s*:/m)
    expect(text).not.toMatch(/postgres(ql)?:\/\/[^@\s/]+:[^@\s]+@/)
  })
})

describe('the parser used here', () => {
  it('refuses what balena refuses (so the checks above can fail): a bind mount, a deploy key', async () => {
    const base = await load('docker-compose.yml')
    const withService = (extra: object) => ({ ...base, services: { 'gateway-auth': { build: '.', ...extra } } })
    expect(() => normalize(withService({ volumes: ['/srv/auth:/data'] }))).toThrow(/bind mount/i)
    expect(() => normalize(withService({ deploy: { replicas: 1 } }))).toThrow()
  })
})

describe('the server-database variant', () => {
  it('adds a PostgreSQL 17 `db` service on its own volume, not published, named by DATABASE_URL', async () => {
    const composition = await balenaParse('docker-compose.db.yml')
    const db = composition.services.db!
    expect(db.image).toMatch(/^postgres:17(\b|-)/)
    expect(db.ports ?? []).toEqual([])
    expect(db.volumes).toEqual(['auth-db:/var/lib/postgresql/data'])
    expect(Object.keys(composition.volumes ?? {})).toContain('auth-db')
    const service = composition.services['gateway-auth']!
    expect(service.depends_on).toEqual(['db'])
    const url = new URL((service.environment as Record<string, string>).DATABASE_URL!)
    expect(url.hostname).toBe('db')
    expect(url.username).toBe((db.environment as Record<string, string>).POSTGRES_USER)
    expect(url.pathname).toBe(`/${(db.environment as Record<string, string>).POSTGRES_DB}`)
  })

  it('is the default service plus DATABASE_URL and depends_on, nothing else (the two files stay in step)', async () => {
    const base = (await load('docker-compose.yml')).services as Record<string, Record<string, unknown>>
    const variant = (await load('docker-compose.db.yml')).services as Record<string, Record<string, unknown>>
    const { depends_on: dependsOn, environment, ...rest } = variant['gateway-auth']!
    const { DATABASE_URL: url, ...otherEnvironment } = environment as Record<string, string>
    expect(dependsOn).toEqual(['db'])
    expect(url).toBeDefined()
    const { environment: baseEnvironment, ...baseRest } = base['gateway-auth']!
    expect(otherEnvironment).toEqual(baseEnvironment)
    expect(rest).toEqual(baseRest)
  })

  it('leaves the default the service, its proxy and the stand-in app: no database container', async () => {
    expect(Object.keys((await balenaParse('docker-compose.yml')).services)).toEqual([
      'gateway-auth',
      'proxy',
      'chirpstack',
    ])
  })
})

describe('balena.yml', () => {
  it('names the fleet, its version and the 64-bit RAK device types, with defaults and no secret', async () => {
    const meta = await load('balena.yml')
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(meta).toMatchObject({ name: 'gateway-auth', type: 'sw.application', version: pkg.version })
    const data = meta.data as Record<string, unknown>
    expect(data.defaultDeviceType).toBe('raspberrypi4-64')
    expect(data.supportedDeviceTypes).toEqual(['raspberrypi4-64', 'raspberrypicm4-ioboard'])
    const variables = Object.assign({}, ...(data.applicationEnvironmentVariables as object[])) as Record<string, string>
    expect(Object.keys(variables).length).toBeGreaterThan(0)
    for (const name of Object.keys(variables)) expect(name).not.toMatch(/SECRET|PASSWORD$|DATABASE_URL/)
  })
})
