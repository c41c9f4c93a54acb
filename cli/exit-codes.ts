// What `gateway-auth` exits with, so a script can tell the cases apart (README: "Admin CLI").
// A failure is a CliError: its message is the one line printed, its code the exit status.

export const EXIT = {
  /** Done. */
  ok: 0,
  /** Something unforeseen: a bug, or a system error the CLI does not know. */
  failure: 1,
  /** Unknown command or option, a missing argument, a required --yes. */
  usage: 2,
  /** The input breaks a rule: username, password (the web's rules), an import file. */
  invalid: 3,
  /** No account by that name. */
  notFound: 4,
  /** The name is taken; an import meets accounts it would change. */
  conflict: 5,
  /** No database to work on: bad configuration, unreachable, not migrated, DATA_DIR in use. */
  unavailable: 6,
  /** `status`: the gateway needs attention (the packet forwarder is not running, …). */
  attention: 7,
  /** `access`: the rules do not let the account open the URL. */
  denied: 8,
  /** Interrupted at a prompt (Ctrl-C). */
  interrupted: 130,
} as const

export class CliError extends Error {
  override name = 'CliError'
  readonly exitCode: number
  /** More lines printed before the message (each bad line of an import file). */
  readonly details: readonly string[]
  constructor(exitCode: number, message: string, details: readonly string[] = []) {
    super(message)
    this.exitCode = exitCode
    this.details = details
  }
}
