// A small HTTP client for the service's real port: fetch with redirect: 'manual', an optional
// cookie jar (what a browser would keep and send back), and helpers for the shapes the contract
// promises. Every HTML response that passes through here is checked for the browser-safety headers.
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { expect } from 'vitest'

export interface Call {
  method?: string
  headers?: Record<string, string>
  /** JSON body (object or raw string); sets content-type: application/json unless given. */
  json?: unknown
  /** Form body; sets content-type: application/x-www-form-urlencoded unless given. */
  form?: Record<string, string>
  body?: string
  /** Authorization: Bearer <token>. */
  bearer?: string
  /** Send and update this jar. */
  jar?: CookieJar
  /** Adds Origin = the service's own origin (what a browser does on its own form posts). */
  sameOrigin?: boolean
}

export interface Reply {
  status: number
  headers: Headers
  text: string
  /** Parsed JSON body (undefined when the body is not JSON). */
  json: any
  contentType: string
  location: string | null
  setCookies: string[]
}

/** name → value, as a browser keeps them for one origin (no domains, paths are all `/`). */
export class CookieJar {
  readonly cookies = new Map<string, string>()
  store(setCookies: string[]): void {
    for (const line of setCookies) {
      const { name, value, attributes } = parseSetCookie(line)
      if (attributes['max-age'] === '0' || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }
  header(): string | undefined {
    if (!this.cookies.size) return undefined
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }
  get(name: string): string | undefined {
    return this.cookies.get(name)
  }
}

/** One Set-Cookie line: name, value and lower-cased attributes (flags map to ''). */
export function parseSetCookie(line: string): { name: string; value: string; attributes: Record<string, string> } {
  const [pair = '', ...rest] = line.split(';')
  const eq = pair.indexOf('=')
  const attributes: Record<string, string> = {}
  for (const part of rest) {
    const [key = '', ...value] = part.trim().split('=')
    attributes[key.toLowerCase()] = value.join('=')
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes }
}

/** A client for the service at `baseUrl`; `send` is fetch over the network unless a test routes it elsewhere. */
export function client(baseUrl: string, send: (url: URL, init: RequestInit) => Promise<Response> = fetch) {
  async function call(path: string, options: Call = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers }
    let body = options.body
    if (options.json !== undefined) {
      body = typeof options.json === 'string' ? options.json : JSON.stringify(options.json)
      headers['content-type'] ??= 'application/json'
      headers.accept ??= 'application/json'
    }
    if (options.form) {
      body = new URLSearchParams(options.form).toString()
      headers['content-type'] ??= 'application/x-www-form-urlencoded'
    }
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`
    if (options.sameOrigin) headers.origin ??= baseUrl
    const cookie = options.jar?.header()
    if (cookie) headers.cookie = cookie
    const method = options.method ?? (body === undefined ? 'GET' : 'POST')
    const response = await send(new URL(path, baseUrl), { method, headers, body, redirect: 'manual' })
    const text = await response.text()
    const contentType = response.headers.get('content-type') ?? ''
    let json: unknown
    if (/json/.test(contentType)) json = JSON.parse(text)
    const setCookies = response.headers.getSetCookie()
    options.jar?.store(setCookies)
    const reply: Reply = {
      status: response.status,
      headers: response.headers,
      text,
      json,
      contentType,
      location: response.headers.get('location'),
      setCookies,
    }
    checkCommonHeaders(reply)
    return reply
  }
  return {
    call,
    get: (path: string, options: Call = {}) => call(path, { ...options, method: 'GET' }),
    getJson: (path: string, options: Call = {}) =>
      call(path, { ...options, method: 'GET', headers: { accept: 'application/json', ...options.headers } }),
    /** A browser-like GET: Accept as Chromium sends it for a page. */
    getHtml: (path: string, options: Call = {}) =>
      call(path, {
        ...options,
        method: 'GET',
        headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', ...options.headers },
      }),
    /** A browser-like form post from the service's own page. */
    postForm: (path: string, form: Record<string, string>, options: Call = {}) =>
      call(path, { sameOrigin: true, ...options, method: 'POST', form }),
    postJson: (path: string, json: unknown, options: Call = {}) => call(path, { ...options, method: 'POST', json }),
  }
}
export type Client = ReturnType<typeof client>

/** Headers every response carries, and the safety headers every HTML response carries. */
export function checkCommonHeaders(reply: Pick<Reply, 'headers' | 'contentType'>): void {
  expect(reply.headers.get('x-powered-by'), 'X-Powered-By').toBeNull()
  if (reply.contentType.startsWith('text/html')) expectHtmlSafety(reply.headers)
}

/** CSP without inline script, nosniff, a Referrer-Policy that keeps Origin, framing denied. */
export function expectHtmlSafety(headers: Headers): void {
  const csp = headers.get('content-security-policy') ?? ''
  expect(csp, 'Content-Security-Policy').not.toBe('')
  const directives = new Map(
    csp
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name = '', ...values] = d.split(/\s+/)
        return [name.toLowerCase(), values.join(' ')] as const
      }),
  )
  const scriptSrc = directives.get('script-src') ?? directives.get('default-src') ?? ''
  expect(scriptSrc, 'CSP script-src').not.toBe('')
  expect(scriptSrc).not.toMatch(/unsafe-inline|unsafe-eval|\*/)
  expect(headers.get('x-content-type-options')).toBe('nosniff')
  const referrer = headers.get('referrer-policy') ?? ''
  expect(referrer).toMatch(/^(same-origin|strict-origin-when-cross-origin|strict-origin|origin-when-cross-origin)$/)
  const framingDenied =
    /^(deny|sameorigin)$/i.test(headers.get('x-frame-options') ?? '') || directives.get('frame-ancestors') === "'none'"
  expect(framingDenied, 'framing denied').toBe(true)
}

/** The claims of a JWT (unverified: the service verifies, the test only reads). */
export function jwtParts(token: string): { header: any; payload: any } {
  const [header = '', payload = ''] = token.split('.')
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()),
  }
}

/** Headers as node:http or a Lambda result gives them (a repeated one as an array) in a Headers object. */
export function toHeaders(raw: Record<string, unknown>): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(raw))
    for (const one of [value ?? []].flat()) headers.append(name, String(one))
  return headers
}

/** A raw request for what fetch refuses to send (TRACE) or to control framing (chunked bodies). */
export function rawRequest(
  baseUrl: string,
  options: {
    method: string
    path: string
    headers?: Record<string, string | string[]>
    /** Written as they come, without a Content-Length (chunked for a POST). */
    chunks?: Buffer[]
    /** One body with its Content-Length, whatever the method (node:http frames a GET body not at all). */
    body?: Buffer
  },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const { hostname, port } = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    // the path goes out exactly as given: no dot-segment or // normalisation
    const req = httpRequest(
      // a fresh connection per request: a refused body may leave the server closing the last one
      { host: hostname, port, path: options.path, method: options.method, headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    for (const chunk of options.chunks ?? []) req.write(chunk)
    if (options.body) req.setHeader('content-length', options.body.length)
    req.end(options.body)
  })
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

/**
 * A client whose requests name `host` in Host while going to baseUrl's port (fetch always sends
 * the URL's own): a page at http://localhost:<port>, or a name a proxy forwards.
 */
export function clientAt(baseUrl: string, host: string) {
  const send = (url: URL, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const headers = { ...(init.headers as Record<string, string>), host }
      const request = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: init.method,
          headers,
          agent: false,
        },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () => {
            const status = response.statusCode!
            const body = status === 204 || status === 304 ? null : Buffer.concat(chunks)
            resolve(new Response(body, { status, headers: toHeaders(response.headers) }))
          })
        },
      )
      request.on('error', reject)
      request.end(init.body as string | undefined)
    })
  return client(baseUrl, send)
}
