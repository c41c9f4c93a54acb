// Shared steps for the handler tests (the runtime comes from useService({ transport: 'lambda' })):
// accounts made through the real handlers, and small readers for headers and cookies.
import { expect } from 'vitest'
import { handler as registerHandler } from '#functions/register.ts'
import { handler as loginHandler } from '#functions/login.ts'
import { invoke, jsonBody } from './events.ts'
import { strongPassword, uniqueUsername } from './factories.ts'
import { API_HOST } from './service.ts'

export type Result = Awaited<ReturnType<typeof invoke>>

export const OWN_ORIGIN = `https://${API_HOST}`
export const HTML = { accept: 'text/html' }

/** A header's value whatever the case of its name. */
export function header(result: { headers?: Record<string, unknown> }, name: string): string | undefined {
  const entry = Object.entries(result.headers ?? {}).find(([key]) => key.toLowerCase() === name.toLowerCase())
  return entry === undefined ? undefined : String(entry[1])
}

/** The Set-Cookie value for `name`, if the result sets it. */
export const setCookie = (result: { cookies?: string[] }, name: string) =>
  result.cookies?.find((cookie) => cookie.startsWith(`${name}=`))

/** Registers an account through the handler (one bcrypt hash). */
export async function signUp(username = uniqueUsername(), password = strongPassword()) {
  const result = await invoke(registerHandler, { path: '/register', json: { username, password } })
  expect(result.statusCode).toBe(201)
  return { username, password, id: jsonBody(result).user.id as string }
}

/** Signs in through the handler (one bcrypt comparison) and returns the token. */
export async function signIn(username: string, password: string): Promise<string> {
  const result = await invoke(loginHandler, { path: '/login', json: { username, password } })
  expect(result.statusCode).toBe(200)
  return jsonBody(result).access_token as string
}

/** A new account, signed in. */
export async function signedInUser() {
  const account = await signUp()
  return { ...account, token: await signIn(account.username, account.password) }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
