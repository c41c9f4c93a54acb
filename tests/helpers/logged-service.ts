// Shared bits of the black-box input-handling tests (ASVS V1, V2, V4, V15): settings that keep the
// login throttle out of the way of tests that are not about it, reading a form field back out of
// a re-rendered page, and a raw TCP exchange for framing that no HTTP client will send.
import { connect } from 'node:net'
import { expect } from 'vitest'
import { startService, useStarted, type TestService } from './server.ts'
import { databaseKinds } from './runtime.ts'
import { strongPassword, uniqueUsername } from './factories.ts'
import { client, type Client } from './http.ts'

/** Many hostile logins from 127.0.0.1 are the point of these files; throttling has its own tests. */
export const LOOSE_THROTTLE = { LOGIN_MAX_FAILURES: '1000', LOGIN_CLIENT_MAX_FAILURES: '100000' }

/** The service (first database kind) with its log lines kept, and a JSON registration step. */
export async function startLoggedService(env: Record<string, string> = LOOSE_THROTTLE) {
  const service: TestService = await startService(databaseKinds()[0]!, env, undefined, { captureLogs: true })
  const http: Client = client(service.baseUrl)
  /** A fresh account, registered over JSON. */
  async function register(prefix = 'user', password = strongPassword()) {
    const account = { username: uniqueUsername(prefix), password }
    const reply = await http.postJson('/register', account)
    expect(reply.status, reply.text).toBe(201)
    return account
  }
  return { service, http, register }
}

export type LoggedService = Awaited<ReturnType<typeof startLoggedService>>

/** One logged service for the calling test file: started before its tests, stopped after them. */
export function useLoggedService(env: Record<string, string> = LOOSE_THROTTLE): LoggedService {
  return useStarted(
    () => startLoggedService(env),
    ({ service }) => service.stop(),
  )
}

/**
 * Writes `request` as raw bytes to the service's port and returns everything it answers until it
 * closes the connection or `waitMs` of silence passes.
 */
export function rawExchange(baseUrl: string, request: string, waitMs = 1500): Promise<string> {
  const url = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname)
    let answer = ''
    let timer: NodeJS.Timeout
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(finish, waitMs)
    }
    socket.setEncoding('latin1')
    socket.on('connect', () => {
      socket.write(request, 'latin1')
      arm()
    })
    socket.on('data', (chunk: string) => {
      answer += chunk
      arm()
    })
    socket.on('end', finish)
    socket.on('close', finish)
    socket.on('error', (error) => (answer ? finish() : reject(error)))
  })
}

/** The status codes of the HTTP/1.1 responses in a raw answer, in order (a status line may follow a body directly). */
export const statusLines = (raw: string) => [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
