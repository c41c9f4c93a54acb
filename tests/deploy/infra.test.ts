// The CloudFormation template `cdk synth` wrote (infra/cdk.out), checked against the service's own
// route table: every route key (HEAD beside each GET) on its own function, $default on not-found,
// payload 2.0, Node 24 on arm64, the secrets only as references, migrate run at deploy, sweep hourly.
// `npm run test:infra` synthesises first.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { routeKeysByName } from '../../lambda/functions.ts'
import { ROOT } from './dockerfile.ts'

interface Resource {
  Type: string
  Properties: Record<string, any>
}
let resources: Record<string, Resource>
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type)
const refOf = (value: unknown): string => {
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] }
  if (v.Ref) return v.Ref
  if (v['Fn::GetAtt']) return v['Fn::GetAtt'][0]
  if (v['Fn::Join']) return refOf(v['Fn::Join'][1].find((part) => typeof part === 'object'))
  throw new Error(`no reference in ${JSON.stringify(value)}`)
}
// our functions, by the source file their handler names (the CDK's own trigger provider has none of ours)
const ourFunctions = () =>
  ofType('AWS::Lambda::Function').filter(([, r]) => /^(functions|lambda)\//.test(r.Properties.Handler))
const handlerOfRoute = (routeKey: string): string => {
  const [, route] = ofType('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === routeKey) ?? []
  if (!route) throw new Error(`no route ${routeKey}`)
  const integration = resources[refOf(route.Properties.Target)]!
  return resources[refOf(integration.Properties.IntegrationUri)]!.Properties.Handler
}

beforeAll(async () => {
  const template = JSON.parse(await readFile(path.join(ROOT, 'infra/cdk.out/GatewayAuth.template.json'), 'utf8'))
  resources = template.Resources
})

describe('the synthesised stack', () => {
  it('has every route of the table, HEAD wherever GET is served, each on its own function', () => {
    const expected = [...routeKeysByName()].flatMap(([name, keys]) =>
      keys
        .flatMap((key) => (key.startsWith('GET ') ? [key, `HEAD ${key.slice(4)}`] : [key]))
        .map((key) => [key, name] as const),
    )
    expect(expected.length).toBeGreaterThan(5)
    for (const [key, name] of expected) expect(handlerOfRoute(key), key).toBe(`functions/${name}.handler`)
    const routeKeys = ofType('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties.RouteKey)
      .sort()
    expect(routeKeys).toEqual([...expected.map(([key]) => key), '$default'].sort())
  })

  it('sends $default (no route) to not-found', () => {
    expect(handlerOfRoute('$default')).toBe('functions/not-found.handler')
  })

  it('uses payload format 2.0 for every integration', () => {
    const integrations = ofType('AWS::ApiGatewayV2::Integration')
    expect(integrations.length).toBe(routeKeysByName().size + 1)
    for (const [, integration] of integrations) {
      expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' })
    }
  })

  it('runs every function on Node 24, arm64', () => {
    const functions = ourFunctions()
    expect(functions.length).toBe(routeKeysByName().size + 3)
    for (const [, fn] of functions)
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] })
  })

  it('gives DATABASE_URL and JWT_SECRET only as Secrets Manager references, never a value', async () => {
    for (const [id, fn] of ourFunctions()) {
      const variables = fn.Properties.Environment.Variables as Record<string, unknown>
      for (const name of ['DATABASE_URL', 'JWT_SECRET']) {
        const value = variables[name]
        // the whole value is one reference: a plain {{resolve:…}} string, or one joined from ARN parts
        const reference = typeof value === 'string' ? value : JSON.stringify(value)
        expect(reference, `${id} ${name}`).toMatch(
          /^(\{\{resolve:secretsmanager:[^{}]+:SecretString:::\}\}|\{"Fn::Join":\["",\["\{\{resolve:secretsmanager:)/,
        )
      }
      for (const [name, value] of Object.entries(variables)) {
        if (/SECRET|PASSWORD|TOKEN|KEY|_URL/.test(name))
          expect(JSON.stringify(value)).toContain('{{resolve:secretsmanager:')
      }
    }
    const [[, jwtSecret]] = ofType('AWS::SecretsManager::Secret') as [[string, Resource]]
    expect(jwtSecret.Properties.GenerateSecretString).toBeDefined()
    expect(jwtSecret.Properties.SecretString).toBeUndefined()
    const text = await readFile(path.join(ROOT, 'infra/cdk.out/GatewayAuth.template.json'), 'utf8')
    expect(text).not.toMatch(/postgres(ql)?:\/\//)
  })

  it('runs the migrations at deploy (a trigger on the migrate function), not in the routes', () => {
    const [[, trigger]] = ofType('Custom::Trigger') as [[string, Resource]]
    // the trigger runs a version of the function, so a new bundle (new migrations) runs again
    const version = resources[refOf(trigger.Properties.HandlerArn)]!
    expect(version.Type).toBe('AWS::Lambda::Version')
    expect(resources[refOf(version.Properties.FunctionName)]!.Properties.Handler).toBe('lambda/migrate.handler')
  })

  it('sweeps expired sessions and throttle counters every hour', () => {
    const [[, rule]] = ofType('AWS::Events::Rule') as [[string, Resource]]
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 hour)')
    const target = resources[refOf(rule.Properties.Targets[0].Arn)]!
    expect(target.Properties.Handler).toBe('lambda/sweep.handler')
  })
})
