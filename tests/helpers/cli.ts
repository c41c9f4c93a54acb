// The admin CLI as an operator runs it: `node cli/gateway-auth.ts …` as its own process, with
// exactly the environment given (plus PATH), stdin from `input` (not a terminal).
import { spawn } from 'node:child_process'
import path from 'node:path'
import { expect } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')
export const CLI = path.join(ROOT, 'cli/gateway-auth.ts')

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

export function runCli(args: string[], env: Record<string, string>, input = ''): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', BCRYPT_COST: '10', ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(input)
  })
}

/** The exit status and, on failure, exactly one line on stderr starting with the program's name. */
export function expectExit(run: CliRun, code: number, stderr?: RegExp): void {
  expect({ code: run.code, stderr: run.stderr }).toMatchObject({
    code,
    ...(stderr ? { stderr: expect.stringMatching(stderr) } : {}),
  })
  if (code !== 0) expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^gateway-auth: \S/)])
}
