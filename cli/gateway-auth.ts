#!/usr/bin/env node
// gateway-auth: the admin CLI (package.json "bin"; `npm run admin --`). It works on the database
// the service is configured for, with the same environment variables, and while the service
// runs. Node 24 runs this .ts file directly (type stripping), as it runs the service.
// Output: results on stdout, messages and errors on stderr (one line each), and an exit status
// from cli/exit-codes.ts.
import { readFileSync } from 'node:fs'
import { Command, CommanderError, Option } from 'commander'
import type { AdminContext } from './context.ts'
import { CliError, EXIT } from './exit-codes.ts'

// The commands and the database code load only when a command runs: --help and usage errors stay
// instant (~0.4 s of CPU less on a gateway).
const users = () => import('./users.ts')
const transfer = () => import('./transfer.ts')
const access = () => import('./access.ts')
const status = () => import('./status.ts')
async function withDatabase(command: (ctx: AdminContext) => Promise<void>, options?: { migrate?: boolean }) {
  const { withDatabase: run } = await import('./context.ts')
  return run(command, options)
}

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

const EXIT_CODES_HELP = `
Passwords are asked on the terminal (twice, not echoed) or read from the first line of stdin;
never from an argument. The configuration is the service's: DATABASE_URL, or DATA_DIR for the
embedded database (used through the running service's socket when it runs).

Exit status: 0 done, 1 unexpected error, 2 usage, 3 invalid input (name, password, import file),
4 no such account, 5 conflict (name taken, import conflicts, the last admin), 6 database unavailable
(configuration, unreachable, schema not migrated), 7 status: needs attention, 8 access denied,
130 interrupted.`

function buildProgram(): Command {
  const program = new Command('gateway-auth')
    .description('Administer the accounts and the database of gateway-auth.')
    .version(version, '-V, --version')
    // settings below are inherited by every command created after them
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`gateway-auth: ${text.replace(/^error: /, '')}`) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)

  const usersCommand = program.command('users').description('list, create, change, delete and unlock accounts')
  usersCommand
    .command('list')
    .description('list the accounts with their login times and live sessions')
    .option('--json', 'one JSON object a line, for scripts')
    .action((options) => withDatabase(async (ctx) => (await users()).listCommand(ctx, options)))
  usersCommand
    .command('create')
    .description('create an account (whatever REGISTRATION says); asks for its password')
    .argument('<name>', 'username: 3 to 32 of A-Z a-z 0-9 . _ -')
    .action((name: string) => withDatabase(async (ctx) => (await users()).createCommand(ctx, name)))
  usersCommand
    .command('set-password')
    .description("set a new password (the recovery path); ends the account's sessions")
    .argument('<name>', 'username, in any letter case')
    .action((name: string) => withDatabase(async (ctx) => (await users()).setPasswordCommand(ctx, name)))
  usersCommand
    .command('delete')
    .description('delete an account and its sessions')
    .argument('<name>', 'username, in any letter case')
    .option('-y, --yes', 'do not ask for confirmation (required off a terminal)')
    .action((name: string, options) => withDatabase(async (ctx) => (await users()).deleteCommand(ctx, name, options)))
  usersCommand
    .command('unlock')
    .description("forget the account's failed sign-ins and lockouts, from every address")
    .argument('<name>', 'username, in any letter case')
    .action((name: string) => withDatabase(async (ctx) => (await users()).unlockCommand(ctx, name)))
  usersCommand
    .command('reset-2fa')
    .description("remove the account's second factors (authenticator app, recovery codes) and end its sessions")
    .argument('<name>', 'username, in any letter case')
    .action((name: string) => withDatabase(async (ctx) => (await users()).resetSecondFactorCommand(ctx, name)))

  usersCommand
    .command('groups')
    .description("show or change an account's groups (the access rules check them; admins see the gateway)")
    .argument('<name>', 'username, in any letter case')
    .option('--add <group...>', 'add groups (lower case a-z 0-9 . _ -)')
    .option('--remove <group...>', 'remove groups; the last account in admins keeps it')
    .action((name: string, options) => withDatabase(async (ctx) => (await access()).groupsCommand(ctx, name, options)))

  program
    .command('access')
    .description('may this account open this URL? what the proxy would be told, and why')
    .argument('<name>', 'username, in any letter case')
    .argument('<url>', 'the address as the browser asks for it, e.g. https://gateway.local/chirpstack/')
    .option('--rules <file>', 'a rules file to check instead of ACCESS_RULES')
    .action((name: string, url: string, options) =>
      withDatabase(async (ctx) => (await access()).accessCommand(ctx, name, url, options)),
    )

  const sessions = program.command('sessions').description("end an account's sessions")
  sessions
    .command('revoke')
    .description('sign the account out everywhere: its tokens stop working at once')
    .argument('<name>', 'username, in any letter case')
    .action((name: string) => withDatabase(async (ctx) => (await users()).revokeSessionsCommand(ctx, name)))

  program
    .command('migrate')
    .description('bring the database schema up to date (creates the embedded database if needed)')
    .action(() => withDatabase(async (ctx) => (await transfer()).migrateCommand(ctx), { migrate: true }))
  program
    .command('export')
    .description('write every account (bcrypt hash, times; no sessions) as JSON Lines')
    .option('-o, --output <file>', 'write to a new file, mode 0600, instead of stdout')
    .option('--force', 'with --output: replace the file if it exists (refused otherwise)')
    .action((options) => withDatabase(async (ctx) => (await transfer()).exportCommand(ctx, options)))
  program
    .command('import')
    .description('add the accounts of an export; all lines are checked, then one transaction')
    .argument('<file>', 'a file written by gateway-auth export, or - for stdin')
    .addOption(
      new Option(
        '--on-conflict <choice>',
        'an account here with another password: keep it or replace it (default: refuse)',
      ).choices(['skip', 'overwrite']),
    )
    .option('--dry-run', 'check and report, write nothing')
    .action((file: string, options) =>
      withDatabase(async (ctx) => (await transfer()).importCommand(ctx, file, options)),
    )
  program
    .command('status')
    .description('the gateway as a LoRaWAN gateway: its EUI, the packet forwarder, the services on the device')
    .option('--json', 'the same facts as the dashboard JSON (gateway.lorawan)')
    .action(async (options) => (await status()).statusCommand(options))
  return program
}

/** An error as the lines to print and the exit status. */
async function describe(error: unknown): Promise<{ code: number; lines: string[] }> {
  if (error instanceof CliError) return { code: error.exitCode, lines: [...error.details, error.message] }
  const [{ ConfigError }, { EmbeddedPostgresError }, { isDatabaseUnavailable, Problem }] = await Promise.all([
    import('#lib/platform/config.ts'),
    import('#lib/embedded-postgres/server.ts'),
    import('#lib/problem.ts'),
  ])
  if (error instanceof ConfigError) return { code: EXIT.unavailable, lines: error.message.split('\n') }
  if (error instanceof EmbeddedPostgresError) return { code: EXIT.unavailable, lines: [error.message] }
  if (error instanceof Problem && error.code === 'validation_failed') {
    return { code: EXIT.invalid, lines: [(error.extra.errors ?? []).map((e) => e.message).join(' ') || error.message] }
  }
  if (isDatabaseUnavailable(error))
    return { code: EXIT.unavailable, lines: [`cannot reach the database: ${(error as Error).message}`] }
  return { code: EXIT.failure, lines: [`unexpected error: ${(error as Error)?.message ?? String(error)}`] }
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv)
    return EXIT.ok
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed the help, the version or the usage error itself
      return ['commander.helpDisplayed', 'commander.version'].includes(error.code) ? EXIT.ok : EXIT.usage
    }
    const { code, lines } = await describe(error)
    for (const line of lines) process.stderr.write(`gateway-auth: ${line}\n`)
    if (code === EXIT.failure && process.env.LOG_LEVEL === 'debug') console.error(error)
    return code
  }
}

process.exit(await main(process.argv))
