// The outside probe's Host findings at handler level (docs/security.md#external-testing): the Middy
// handlers invoked as Lambda and as the Express adapter invokes them. Over HTTP:
// tests/security/external-probe.test.ts; the lookalike names and Content-Encoding are rows of the
// POST /login and POST /register tables.
import { describe, expect, it } from 'vitest'
import type { APIGatewayProxyEventV2 } from 'aws-lambda'
import { handler as loginHandler } from '#functions/login.ts'
import { handler as healthHandler } from '#functions/health.ts'
import { lambdaContext } from '../../adapters/express-app.ts'
import { apiGatewayEvent, invokeLocal } from '../helpers/events.ts'
import { header, type Result } from '../helpers/handlers.ts'
import { expectProblem } from '../helpers/expect.ts'
import { useService } from '../helpers/service.ts'

useService({ transport: 'lambda', env: { ALLOWED_HOSTS: 'auth.example.com' } })

/** A Lambda invocation whose Host header and API Gateway domain may differ. */
async function invokeLambda(
  handler: typeof healthHandler,
  host: string,
  domainName: string,
  input: Parameters<typeof apiGatewayEvent>[0] = {},
) {
  const event: APIGatewayProxyEventV2 = apiGatewayEvent({ ...input, headers: { ...input.headers, host } })
  event.requestContext.domainName = domainName
  const result = (await handler(event as never, lambdaContext('test') as never)) as Result
  return { ...result, headers: (result.headers ?? {}) as Record<string, string> }
}

describe('Host on Lambda and on a gateway', () => {
  const API = 'abc123.execute-api.eu-west-1.amazonaws.com'

  it('on Lambda answers the API Gateway domain and ALLOWED_HOSTS, and 421 for any other name', async () => {
    expect((await invokeLambda(healthHandler, API, API, { path: '/health' })).statusCode).toBe(200)
    expect(
      (await invokeLambda(healthHandler, 'auth.example.com', 'auth.example.com', { path: '/health' })).statusCode,
    ).toBe(200)
    for (const host of ['evil.example', '127.0.0.1', 'localhost']) {
      const result = await invokeLambda(loginHandler, host, API, {
        path: '/login',
        json: { username: 'alice', password: 'x' },
      })
      expect(expectProblem(result, 421, 'misdirected_request').detail, host).toContain('ALLOWED_HOSTS')
    }
  })

  it('refuses repeated Host headers (joined, as API Gateway and the adapter pass them) with 400', async () => {
    const result = await invokeLambda(loginHandler, `${API},${API}`, API, {
      path: '/login',
      json: { username: 'alice', password: 'x' },
    })
    expect(expectProblem(result, 400, 'validation_failed').detail).toMatch(/exactly one Host header/)
  })

  it('on a gateway answers IP addresses and localhost, and 421 with a page for a browser at another name', async () => {
    expect((await invokeLocal(healthHandler, { path: '/health', host: '10.0.0.9:8085' })).statusCode).toBe(200)
    expect((await invokeLocal(healthHandler, { path: '/health', host: 'localhost' })).statusCode).toBe(200)
    const page = await invokeLocal(loginHandler, {
      path: '/login',
      host: 'rebind.evil.example:8085',
      headers: { accept: 'text/html' },
    })
    expect(page.statusCode).toBe(421)
    expect(header(page, 'content-type')).toMatch(/^text\/html/)
    expect(page.body).toContain('ALLOWED_HOSTS')
    expect(page.body).toContain('rebind.evil.example')
  })
})
