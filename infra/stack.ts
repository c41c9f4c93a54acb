// The gateway-auth service on AWS: an API Gateway HTTP API (payload 2.0) with one route per route
// key of the service's table, each served by its own Lambda function (arm64, Node 24, the bundle
// `npm run package:lambda` wrote), `$default` answered by not-found, plus two functions that are
// not routes: migrate, run by CloudFormation on each deploy that changes it, and sweep, run hourly.
// The function list comes from lambda/functions.ts, which reads the service's route table.
//
// Secrets: DATABASE_URL is a Secrets Manager secret the operator creates (docs/deployment.md);
// JWT_SECRET is generated here. Both reach the functions as CloudFormation dynamic references,
// resolved at deploy time: the template and cdk.out hold only the reference, never the value.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib'
import { HttpApi, HttpRoute, HttpRouteKey, HttpStage, type HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2'
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations'
import { Rule, Schedule } from 'aws-cdk-lib/aws-events'
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets'
import { Architecture, Code, Function as LambdaFn, Runtime } from 'aws-cdk-lib/aws-lambda'
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs'
import { Secret } from 'aws-cdk-lib/aws-secretsmanager'
import { Trigger } from 'aws-cdk-lib/triggers'
import type { Construct } from 'constructs'
import { handlerSetting, lambdaFunctions, type LambdaFunction } from '../lambda/functions.ts'

const BUNDLES = fileURLToPath(new URL('../dist/lambda', import.meta.url))

export interface GatewayAuthProps extends StackProps {
  /** Name of the Secrets Manager secret whose string is the PostgreSQL URL. */
  readonly databaseUrlSecretName: string
}

// bcrypt is CPU-bound and Lambda's CPU grows with memory: the routes that hash get more
const HASHING = new Set(['login', 'register', 'password'])

export class GatewayAuthStack extends Stack {
  constructor(scope: Construct, id: string, props: GatewayAuthProps) {
    super(scope, id, props)

    const jwtSecret = new Secret(this, 'JwtSecret', {
      description: 'gateway-auth: the key that signs session tokens (JWT_SECRET)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      // tokens signed with it must keep verifying across a stack replacement
      removalPolicy: RemovalPolicy.RETAIN,
    })
    const environment = {
      // dynamic references: CloudFormation resolves them at deploy, the template never holds a value
      DATABASE_URL: SecretValue.secretsManager(props.databaseUrlSecretName).unsafeUnwrap(),
      JWT_SECRET: jwtSecret.secretValue.unsafeUnwrap(),
      LOG_LEVEL: 'info',
    }

    const functions = new Map<string, LambdaFn>()
    for (const fn of lambdaFunctions()) functions.set(fn.name, this.lambda(fn, environment))

    const integration = (name: string) => new HttpLambdaIntegration(`${name}-integration`, functions.get(name)!)
    const api = new HttpApi(this, 'Api', {
      description: 'gateway-auth',
      createDefaultStage: false,
      // $default: whatever no route matches (404, or 405 with Allow)
      defaultIntegration: integration('not-found'),
    })
    new HttpStage(this, 'DefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      // a ceiling on what a flood can cost (and on connections to the database)
      throttle: { rateLimit: 50, burstLimit: 100 },
    })
    for (const fn of lambdaFunctions()) {
      const routeIntegration = integration(fn.name)
      for (const key of fn.routeKeys.filter((k) => k !== '$default')) {
        const [method, routePath] = key.split(' ') as [HttpMethod, string]
        new HttpRoute(this, `Route ${key}`, {
          httpApi: api,
          routeKey: HttpRouteKey.with(routePath, method),
          integration: routeIntegration,
        })
      }
    }

    // migrations are a deploy step: run once each time the migrate function (its migrations) changes,
    // after every route function is in place
    const migrate = functions.get('migrate')!
    new Trigger(this, 'MigrateOnDeploy', {
      handler: migrate,
      executeAfter: [...functions.values()].filter((f) => f !== migrate),
      timeout: Duration.minutes(5),
    })

    new Rule(this, 'SweepHourly', {
      description: 'gateway-auth: delete expired sessions and throttle counters',
      schedule: Schedule.rate(Duration.hours(1)),
      targets: [new LambdaTarget(functions.get('sweep')!)],
    })

    new CfnOutput(this, 'ApiUrl', { value: api.apiEndpoint })
    new CfnOutput(this, 'MigrateFunctionName', { value: migrate.functionName })
  }

  private lambda(fn: LambdaFunction, environment: Record<string, string>): LambdaFn {
    const bundle = path.join(BUNDLES, fn.name)
    if (!existsSync(bundle))
      throw new Error(`${bundle} is missing: run \`npm run package:lambda\` in the repository first`)
    const logGroup = new LogGroup(this, `${fn.name}-logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    })
    return new LambdaFn(this, `fn-${fn.name}`, {
      description: `gateway-auth ${fn.routeKeys.join(', ') || fn.name}`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      code: Code.fromAsset(bundle),
      handler: handlerSetting(fn),
      memorySize: HASHING.has(fn.name) ? 1024 : 256,
      timeout: fn.name === 'migrate' ? Duration.minutes(5) : Duration.seconds(15),
      environment,
      logGroup,
    })
  }
}
