// The names this service answers to (docs/api.md#host-names). A web page on the LAN can point a
// name it controls at the gateway by DNS rebinding and then drive the API from a visitor's browser,
// with the visitor's network position; such a request carries the page's own name in Host, so a
// Host the service does not know is refused with 421 misdirected_request. IP addresses, localhost
// and the machine's own names cannot be rebound by a web page, so they are allowed out of the box;
// ALLOWED_HOSTS adds names (a reverse proxy's domain). On Lambda, API Gateway's own domain is the
// default. A request carries exactly one Host (RFC 9112 §3.2): two are 400.
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import type { MiddlewareObj } from '@middy/core'
import type { Context } from 'aws-lambda'
import type { RouteEvent, RouteResult } from './event.ts'
import { LOCAL_API_ID } from './client.ts'
import { Problem } from '../problem.ts'
import { contextOf } from './request-context.ts'

/** The host of a Host header value: lower case, without port, brackets or a final dot; null if it is not one host. */
export function hostOf(value: string): string | null {
  // the adapter joins repeated headers with ",", so two Host headers fail here too
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9_.-]+))(?::(\d{1,5}))?$/i.exec(value)
  if (!match) return null
  // a TCP port is 1 to 65535: localhost:99999 names no place a request could have been sent to
  if (match[3] !== undefined && !(Number(match[3]) >= 1 && Number(match[3]) <= 65535)) return null
  const host = (match[1] ?? match[2]!).toLowerCase().replace(/\.$/, '')
  if (match[1] !== undefined && isIP(host) !== 6) return null
  return host === '' ? null : host
}

/**
 * The names a gateway answers to without configuration: its hostname and its mDNS name, and on
 * balena the device's short-UUID names and its public URL (BALENA_DEVICE_UUID is set by the supervisor).
 */
export function machineHostNames(env: NodeJS.ProcessEnv = process.env, name = hostname()): string[] {
  const names = ['localhost', name.toLowerCase(), `${name.toLowerCase()}.local`]
  const uuid = env.BALENA_DEVICE_UUID?.toLowerCase()
  if (uuid && /^[0-9a-f]{7,64}$/.test(uuid)) {
    names.push(uuid.slice(0, 7), `${uuid.slice(0, 7)}.local`, `${uuid}.balena-devices.com`)
  }
  return names
}

let localNames: Set<string> | undefined

/** True when `host` (from hostOf) is one this service answers to. */
export function isAllowedHost(
  host: string,
  allowed: readonly string[],
  event: Pick<RouteEvent, 'requestContext'>,
): boolean {
  for (const entry of allowed) {
    const name = entry.replace(/^\[|\]$/g, '').replace(/\.$/, '')
    if (name === '*' || name === host) return true
    if (name.startsWith('.') && (host.endsWith(name) || host === name.slice(1))) return true
  }
  if (event.requestContext.apiId !== LOCAL_API_ID) return host === hostOf(event.requestContext.domainName ?? '')
  if (isIP(host)) return true
  localNames ??= new Set(machineHostNames())
  return localNames.has(host)
}

/** Middy step: exactly one well-formed Host, and one this service answers to. */
export function checkHost(): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  return {
    before: (request) => {
      const event = request.event
      const value = event.headers.host
      // HTTP/1.0 without Host is no browser, so no rebinding; API Gateway always sends one
      if (value === undefined) return
      const host = hostOf(value)
      if (host === null) {
        throw new Problem('validation_failed', {
          detail: 'The request must carry exactly one Host header naming one host.',
        })
      }
      if (isAllowedHost(host, contextOf(event).config.allowedHosts, event)) return
      // the small error page, not a form that would post to the same unknown name
      event.page = undefined
      throw new Problem('misdirected_request', {
        detail:
          `This service does not answer to the name “${host.slice(0, 64)}”. If that is one of its names, ` +
          'add it to the ALLOWED_HOSTS environment variable (comma-separated) and restart the service.',
      })
    },
  }
}
