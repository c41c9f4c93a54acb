// Real proxies for the front-door tests: Debian's caddy and nginx, each started with the shipped
// configuration (proxy/Caddyfile, proxy/nginx.conf.template) on a loopback port of its own, in
// front of the service and of an echo app that answers with the request it saw (its path and its
// headers), standing in for ChirpStack and Node-RED.
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { freePort } from './service-process.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const START_TIMEOUT_MS = 15_000

/** The path of a proxy's binary, or undefined when it is not installed (the tests then skip). */
export function proxyBinary(name: 'caddy' | 'nginx'): string | undefined {
  for (const dir of ['/usr/bin', '/usr/sbin', '/usr/local/bin']) {
    const file = path.join(dir, name)
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {}
  }
  return undefined
}

export function skipNotice(name: string): boolean {
  const missing = !proxyBinary(name as 'caddy' | 'nginx')
  if (missing) console.warn(`${name} is not installed: its front-door tests are skipped (.ci/run installs it)`)
  return missing
}

export interface EchoApp {
  readonly address: string
  stop(): Promise<void>
}

/** An app that answers every request with JSON: { path, headers } as it received them. */
export async function startEchoApp(): Promise<EchoApp> {
  const server: Server = createServer((request, response) => {
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify({ path: request.url, headers: request.headers }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    address: `127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface RunningProxy {
  readonly baseUrl: string
  /** Host:port, as the browser's Host header (and the rules) name it. */
  readonly host: string
  stop(): Promise<void>
}

interface Upstreams {
  auth: string
  app: string
}

/** Caddy with proxy/Caddyfile as shipped, its settings from the environment. */
export async function startCaddy(upstreams: Upstreams, port?: number): Promise<RunningProxy> {
  const listen = port ?? (await freePort())
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    XDG_DATA_HOME: await mkdtemp(path.join(tmpdir(), 'caddy-')),
    AUTH_UPSTREAM: upstreams.auth,
    CHIRPSTACK_UPSTREAM: upstreams.app,
    NODERED_UPSTREAM: upstreams.app,
    PROXY_PORT: String(listen),
    PROXY_BIND: '127.0.0.1',
  }
  const config = path.join(ROOT, 'proxy/Caddyfile')
  const child = spawn(proxyBinary('caddy')!, ['run', '--config', config, '--adapter', 'caddyfile'], { env })
  return running(child, listen, async () => rm(env.XDG_DATA_HOME, { recursive: true, force: true }))
}

/** nginx with proxy/nginx.conf.template as shipped, ${NAME}s filled in as the nginx image does. */
export async function startNginx(upstreams: Upstreams, port?: number): Promise<RunningProxy> {
  const listen = port ?? (await freePort())
  const dir = await mkdtemp(path.join(tmpdir(), 'nginx-'))
  const values: Record<string, string> = {
    PROXY_LISTEN: `127.0.0.1:${listen}`,
    AUTH_UPSTREAM: upstreams.auth,
    CHIRPSTACK_UPSTREAM: upstreams.app,
    NODERED_UPSTREAM: upstreams.app,
  }
  const site = (await readFile(path.join(ROOT, 'proxy/nginx.conf.template'), 'utf8')).replace(
    /\$\{(\w+)\}/g,
    (whole, name: string) => values[name] ?? whole,
  )
  // what the image's /etc/nginx/nginx.conf provides around the site, with paths of our own
  const main = `error_log ${dir}/error.log warn;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  ${site}
}
`
  await writeFile(path.join(dir, 'nginx.conf'), main)
  const args = ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', `daemon off; pid ${dir}/nginx.pid;`]
  const child = spawn(proxyBinary('nginx')!, args, { env: { PATH: process.env.PATH ?? '' } })
  return running(child, listen, () => rm(dir, { recursive: true, force: true }))
}

async function running(child: ChildProcess, port: number, cleanUp: () => Promise<void>): Promise<RunningProxy> {
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk))
  const baseUrl = `http://127.0.0.1:${port}`
  const started = Date.now()
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the proxy exited at start:\n${output}`)
    const up = await fetch(`${baseUrl}/health`).then(
      () => true,
      () => false,
    )
    if (up) break
    if (Date.now() - started > START_TIMEOUT_MS) throw new Error(`the proxy did not start:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    baseUrl,
    host: `127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
      await cleanUp()
    },
  }
}
