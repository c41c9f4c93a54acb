// Shared set-up for the black-box ASVS tests of authentication, sessions, authorization and
// tokens (V6–V9): one service on a real port (the first database kind, to keep CI quick), and
// the few steps every scenario starts with — register, sign in as an API client or a browser.
import { createHmac, randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import { startService, useStarted, type TestService } from './server.ts'
import { databaseKinds } from './runtime.ts'
import { strongPassword, uniqueUsername } from './factories.ts'
import { client, CookieJar, jwtParts, type Client } from './http.ts'

export interface Account {
  username: string
  password: string
  id: string
  created_at: string
}

export interface SecurityService {
  service: TestService
  http: Client
  /** Registers a fresh account over JSON (201 expected). */
  register(prefix?: string, password?: string): Promise<Account>
  /** Signs in over JSON and returns the bearer token. */
  apiLogin(account: Pick<Account, 'username' | 'password'>): Promise<string>
  /** Signs in with the form, as a browser does, and returns the jar holding the session cookie. */
  browserLogin(account: Pick<Account, 'username' | 'password'>, jar?: CookieJar): Promise<CookieJar>
  /** GET /dashboard/<username> as an API client. */
  dashboard(username: string, token: string): ReturnType<Client['getJson']>
  /** What must never leave the server: the signing secret, and the account's password when given. */
  secretsOf(account?: Pick<Account, 'password'>): string[]
}

/** Starts the service (first database kind) with `env`, plus the steps above bound to it. */
export async function startSecurityService(env: Record<string, string> = {}): Promise<SecurityService> {
  const service = await startService(databaseKinds()[0]!, env)
  const http = client(service.baseUrl)
  return {
    service,
    http,
    async register(prefix = 'user', password = strongPassword()) {
      const username = uniqueUsername(prefix)
      const reply = await http.postJson('/register', { username, password })
      expect(reply.status, reply.text).toBe(201)
      return { username, password, id: reply.json.user.id as string, created_at: reply.json.user.created_at as string }
    },
    async apiLogin(account) {
      const reply = await http.postJson('/login', { username: account.username, password: account.password })
      expect(reply.status, reply.text).toBe(200)
      return reply.json.access_token as string
    },
    async browserLogin(account, jar = new CookieJar()) {
      const reply = await http.postForm('/login', { username: account.username, password: account.password }, { jar })
      expect(reply.status, reply.text).toBe(303)
      expect(jar.get('session')).toBeTruthy()
      return jar
    },
    dashboard: (username, token) => http.getJson(`/dashboard/${encodeURIComponent(username)}`, { bearer: token }),
    secretsOf: (account) => [service.runtime.jwtSecret, ...(account ? [account.password] : [])],
  }
}

/** One service for the calling test file (first database kind): started before its tests, stopped after. */
export function useSecurityService(env: Record<string, string> = {}): SecurityService {
  return useStarted(
    () => startSecurityService(env),
    ({ service }) => service.stop(),
  )
}

/** The session row id a token stands for (its jti). */
export const sessionIdOf = (token: string): string => jwtParts(token).payload.jti as string

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * A JWT signed with the service's own secret (HS256) carrying `claims` over those of `base` (a
 * token the service issued) — to show what the server checks beyond the signature.
 */
export function resign(
  service: TestService,
  base: string,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): string {
  const payload: Record<string, unknown> = { ...jwtParts(base).payload, ...claims }
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
  // signed by hand, not with jsonwebtoken's sign(), which refuses to write malformed claims
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${part({ alg: 'HS256', typ: 'JWT', ...header })}.${part(payload)}`
  return `${input}.${createHmac('sha256', service.runtime.jwtSecret).update(input).digest('base64url')}`
}

/** A fresh random session id, shaped like the service's (256 bits, base64url). */
export const randomSessionId = () => randomBytes(32).toString('base64url')
