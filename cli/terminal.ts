// What the admin CLI asks a person. Passwords come from a prompt that does not echo (asked
// twice, to catch a typo) or, in a script, from the first line of stdin: never from an argument,
// which would land in the shell history and in `ps`. Prompts go to stderr so stdout stays data.
import { read } from 'read'
import { CliError, EXIT } from './exit-codes.ts'

/** A new password for `username`, from the terminal (twice) or the first line of stdin. */
export async function readNewPassword(username: string): Promise<string> {
  if (process.stdin.isTTY) {
    const password = await ask(`New password for ${username}: `, true)
    if ((await ask('Repeat it: ', true)) !== password)
      throw new CliError(EXIT.invalid, 'the two passwords differ; nothing changed')
    return password
  }
  const [line = ''] = (await readStdin()).split('\n')
  const password = line.replace(/\r$/, '')
  if (!password) {
    throw new CliError(
      EXIT.invalid,
      'no password on stdin: pipe it as one line, or run this on a terminal to be asked for it',
    )
  }
  return password
}

/** Asks yes or no on the terminal; off a terminal there is nobody to ask, so `--yes` is needed. */
export async function confirm(question: string): Promise<void> {
  if (!process.stdin.isTTY) throw new CliError(EXIT.usage, `${question} Not on a terminal: add --yes to confirm`)
  if (!/^y(es)?$/i.test((await ask(`${question} [y/N] `, false)).trim()))
    throw new CliError(EXIT.usage, 'not confirmed; nothing changed')
}

/** All of stdin as text (an import from `-`, a piped password). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function ask(prompt: string, silent: boolean): Promise<string> {
  try {
    const answer = await read({ prompt, silent, replace: '', output: process.stderr })
    // the Enter of a hidden answer is not echoed either
    if (silent) process.stderr.write('\n')
    return answer
  } catch {
    // read rejects on Ctrl-C (and Ctrl-D) with "canceled"; the message goes below the prompt
    process.stderr.write('\n')
    throw new CliError(EXIT.interrupted, 'interrupted; nothing changed')
  }
}
