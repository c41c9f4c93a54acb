// Requirements that are about what is written down (ASVS 7.1.1, 7.1.2, 13.1.1, 15.1.1, 16.1.1, 16.2.3): each
// test holds docs/security.md to what the code really does, so the page cannot drift from it.
import { readFile, readdir } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { defaultValue } from '#lib/platform/config.ts'

const ROOT = new URL('../../', import.meta.url)
const read = (file: string) => readFile(new URL(file, ROOT), 'utf8')

/** The text of one "## <title>" section of docs/security.md. */
async function section(title: string): Promise<string> {
  const doc = await read('docs/security.md')
  const found = doc.split(/\n## /).find((part) => part.startsWith(`${title}\n`))
  expect(found, `docs/security.md has a "## ${title}" section`).toBeDefined()
  return found!
}

/** Every `event: '<name>'` the service's code logs. */
async function loggedEvents(): Promise<Set<string>> {
  const events = new Set<string>()
  for (const dir of ['lib', 'functions', 'adapters']) {
    for (const file of await readdir(new URL(dir, ROOT), { recursive: true })) {
      if (!file.endsWith('.ts')) continue
      const source = await read(`${dir}/${file}`)
      for (const match of source.matchAll(/\bevent:\s*(?:[^,}]*\?\s*)?'([a-z_]+)'(?:\s*:\s*'([a-z_]+)')?/g)) {
        events.add(match[1]!)
        if (match[2]) events.add(match[2])
      }
    }
  }
  return events
}

// an HTTP, WebSocket or raw TCP client in the source
const NETWORK_CLIENT =
  /\bfetch\(|\bhttps?\.(request|get)\(|import \{[^}]*\b(request|get)\b[^}]*\} from 'node:https?'|axios|undici|\bnew WebSocket\b|\bnet\.connect\(/

describe('what docs/security.md promises', () => {
  it('13.1.1 documents every connection the service makes, in and out', async () => {
    const text = await section('Network')
    for (const fact of ['`PORT`', '8085', 'Unix socket', '`DATABASE_URL`', 'no other connection'])
      expect(text).toContain(fact)
    // every file with a network client is named in the section, so nothing it could reach is
    // undocumented (every file, nested ones too); today only the balena Supervisor's client has one
    let scanned = 0
    const clients: string[] = []
    for (const dir of ['lib', 'functions', 'adapters']) {
      for (const file of await readdir(new URL(dir, ROOT), { recursive: true })) {
        if (!file.endsWith('.ts')) continue
        scanned++
        const source = await read(`${dir}/${file}`)
        if (NETWORK_CLIENT.test(source)) clients.push(`${dir}/${file}`)
      }
    }
    expect(clients).toEqual(['lib/gateway/balena-supervisor.ts'])
    for (const file of clients) expect(text, `the Network section names ${file}`).toContain(`\`${file}\``)
    expect(scanned, 'source files scanned').toBeGreaterThan(40)
  })

  it('15.1.1 documents time frames for updating dependencies and reacting to advisories', async () => {
    const text = await section('Dependencies')
    expect(text).toMatch(/within \*\*7 days\*\*/)
    expect(text).toMatch(/\*\*30 days\*\*/)
    expect(text).toMatch(/monthly/)
    // the reachable dependencies it names are the ones package.json really has
    const pkg = JSON.parse(await read('package.json')) as { dependencies: Record<string, string> }
    for (const name of [
      'jsonwebtoken',
      'bcryptjs',
      'pg-promise',
      'nunjucks',
      'zod',
      'rate-limiter-flexible',
      'express',
    ]) {
      expect(pkg.dependencies, name).toHaveProperty(name)
      expect(text.toLowerCase()).toContain(name.replace('pg-promise', 'pg/pg-promise'))
    }
  })

  it('16.1.1 documents every security event the service logs, where logs go and what never goes there', async () => {
    const text = await section('Logging')
    const documented = new Set(
      [...text.matchAll(/^\| `([a-z_]+)`(?: \/ `([a-z_]+)`)? \|/gm)].flatMap(
        (m) => [m[1]!, m[2]].filter(Boolean) as string[],
      ),
    )
    const logged = await loggedEvents()
    expect(logged.size).toBeGreaterThan(5)
    for (const event of logged) expect(documented.has(event), `${event} is logged but not documented`).toBe(true)
    for (const event of documented) expect(logged.has(event), `${event} is documented but never logged`).toBe(true)
    // 16.2.3: one documented destination, and the logger writes nowhere else
    expect(text).toMatch(/stdout only/)
    const log = await read('lib/platform/log.ts')
    expect(log).not.toMatch(/pino\.destination\(|pino\.transport\(|createWriteStream|appendFile/)
    expect(text).toMatch(/Never logged: passwords, password hashes, tokens, cookies, the signing secret/)
  })

  it('7.1.1 documents the session lifetime (absolute, no sliding renewal) with its default', async () => {
    const api = await read('docs/api.md')
    const readme = await read('README.md')
    expect(readme).toContain(`\`SESSION_TTL_SECONDS\` | \`${defaultValue('SESSION_TTL_SECONDS')}\``)
    expect(api).toMatch(/A session ends at its token's `exp` or `SESSION_TTL_SECONDS` after its login/)
  })

  it('7.1.2 states the limit on concurrent sessions the service enforces, with its default', async () => {
    const text = await section('Sessions and tokens')
    expect(text).not.toMatch(/sessions\*\* are not limited/i)
    const limit = defaultValue('SESSIONS_PER_USER')
    expect(text).toContain(`limited to \`SESSIONS_PER_USER\` (default ${limit}) live sessions per user`)
  })
})
