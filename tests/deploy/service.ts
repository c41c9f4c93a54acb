// Drives a started service over HTTP the way an operator's browser and a program on the gateway do:
// shared by the image test and the arm64 test, which start it differently.
import { spawn, type ChildProcess } from 'node:child_process'
import { Agent, request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

export interface Service {
  readonly child: ChildProcess
  readonly base: string
  /** Everything the process printed, for a failure's message. */
  output(): string
  /** Resolves with the exit code (or signal) and when it came. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

export { freePort } from '../helpers/service-process.ts'

/** Starts argv in cwd with env; `uid`/`gid` run it unprivileged, as the image's USER does. */
export function startService(
  argv: string[],
  options: { cwd: string; env: Record<string, string>; port: number; uid?: number; gid?: number },
): Service {
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: options.cwd,
    env: options.env,
    uid: options.uid,
    gid: options.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  )
  return { child, base: `http://127.0.0.1:${options.port}`, output: () => output.slice(-4000), exited }
}

/** Waits until /health answers 200; returns the milliseconds it took. Throws with the output on exit or timeout. */
export async function waitHealthy(service: Service, timeoutMs: number): Promise<number> {
  const started = performance.now()
  let exited = false
  void service.exited.then(() => (exited = true))
  while (performance.now() - started < timeoutMs) {
    if (exited) throw new Error(`the service exited before it was healthy:\n${service.output()}`)
    const ok = await fetch(`${service.base}/health`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return performance.now() - started
    await sleep(250)
  }
  throw new Error(`not healthy after ${timeoutMs} ms:\n${service.output()}`)
}

export interface Account {
  readonly username: string
  readonly password: string
}

/** POST /login as a program does; returns the bearer token. */
export async function signIn(base: string, account: Account): Promise<string> {
  const response = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(account),
  })
  if (response.status !== 200) throw new Error(`sign-in answered ${response.status}: ${await response.text()}`)
  return ((await response.json()) as { access_token: string }).access_token
}

/**
 * POST /login on a new kept-alive connection (reusing an idle one could see it dropped before the
 * server has read the request: a race of HTTP keep-alive, not the in-flight case). The body is sent
 * in two halves with `between` awaited in the middle, so the request is surely in flight then.
 */
export function signInOnNewConnection(
  base: string,
  account: Account,
  between: () => Promise<void> = async () => {},
): Promise<{ status: number; token: string | undefined }> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify(account))
    const request = httpRequest(
      `${base}/login`,
      {
        method: 'POST',
        // a connection of its own that the client would keep alive: closing it is the server's job
        agent: new Agent({ keepAlive: true }),
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (response) => {
        let text = ''
        response
          .setEncoding('utf8')
          .on('data', (chunk) => (text += chunk))
          .on('end', () => {
            const token =
              response.statusCode === 200 ? (JSON.parse(text) as { access_token: string }).access_token : undefined
            resolve({ status: response.statusCode ?? 0, token })
          })
      },
    )
    request.on('error', reject)
    const half = Math.floor(body.length / 2)
    request.write(body.subarray(0, half))
    between().then(() => request.end(body.subarray(half)), reject)
  })
}

/** Registers in a form as a browser does (303 to /login). */
export async function registerWithForm(base: string, account: Account): Promise<void> {
  const response = await fetch(`${base}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ ...account }).toString(),
    redirect: 'manual',
  })
  if (response.status !== 303) throw new Error(`registration answered ${response.status}: ${await response.text()}`)
}

/** Signs in with the form and opens the dashboard with the session cookie; returns its HTML. */
export async function dashboardInBrowserStyle(base: string, account: Account): Promise<string> {
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ ...account }).toString(),
    redirect: 'manual',
  })
  if (login.status !== 303) throw new Error(`form sign-in answered ${login.status}`)
  const cookies = login.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0])
    .join('; ')
  const page = await fetch(new URL(login.headers.get('location')!, base), {
    headers: { cookie: cookies, accept: 'text/html' },
  })
  if (page.status !== 200) throw new Error(`dashboard answered ${page.status}`)
  return page.text()
}

/** The dashboard as JSON with a bearer token. */
export async function dashboardJson(
  base: string,
  username: string,
  token: string,
): Promise<{ user: { username: string } }> {
  const response = await fetch(`${base}/dashboard/${username}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  })
  if (response.status !== 200) throw new Error(`dashboard answered ${response.status}: ${await response.text()}`)
  return (await response.json()) as { user: { username: string } }
}
