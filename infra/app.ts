// `cdk synth` / `cdk deploy`: the gateway-auth stack (infra/stack.ts). The bundles come from
// `npm run package:lambda` in the repository root (dist/lambda/).
import { App } from 'aws-cdk-lib'
import { GatewayAuthStack } from './stack.ts'

const app = new App()
new GatewayAuthStack(app, 'GatewayAuth', {
  description: 'gateway-auth: login and registration on Lambda behind an API Gateway HTTP API',
  databaseUrlSecretName: app.node.tryGetContext('databaseUrlSecretName') ?? 'gateway-auth/database-url',
})
