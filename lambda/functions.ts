// The Lambda functions of a deployment, derived from the service's route table (never a copy of it):
// one function per handler, the API Gateway route keys each serves (HEAD beside every GET, as
// Express and matchRoute serve it), `$default` for not-found, and the two jobs that are not routes.
// Used by `npm run package:lambda` (lambda/package.ts) and the CDK app (infra/).
import { NOT_FOUND, ROUTES } from '../lib/http/routes.ts'

export interface LambdaFunction {
  /** functions/<name>.ts, or a job's name: also the bundle folder dist/lambda/<name>/. */
  readonly name: string
  /** Source file, relative to the repository root; the bundle mirrors it (.ts → .mjs). */
  readonly entry: string
  /** API Gateway HTTP API route keys ('GET /dashboard/{username}', '$default'); none for a job. */
  readonly routeKeys: readonly string[]
}

/** Function name → the route keys it serves, from the table (several keys may share a function). */
export function routeKeysByName(): Map<string, string[]> {
  const byName = new Map<string, string[]>()
  for (const [key, name] of Object.entries(ROUTES)) byName.set(name, [...(byName.get(name) ?? []), key])
  return byName
}

/** Every function to bundle and deploy: one per route handler, not-found, migrate and sweep. */
export function lambdaFunctions(): LambdaFunction[] {
  const routes = [...routeKeysByName()].map(([name, keys]) => {
    const withHead = keys.flatMap((key) => (key.startsWith('GET ') ? [key, `HEAD ${key.slice(4)}`] : [key]))
    return { name, entry: `functions/${name}.ts`, routeKeys: withHead }
  })
  return [
    ...routes,
    { name: NOT_FOUND, entry: `functions/${NOT_FOUND}.ts`, routeKeys: ['$default'] },
    // not routes: the schema migration run at deploy, and the hourly sweep the Express adapter's timer does
    { name: 'migrate', entry: 'lambda/migrate.ts', routeKeys: [] },
    { name: 'sweep', entry: 'lambda/sweep.ts', routeKeys: [] },
  ]
}

/** The Lambda handler setting for a function: its bundle's path without extension, then `.handler`. */
export const handlerSetting = (fn: LambdaFunction) => `${fn.entry.replace(/\.ts$/, '')}.handler`
