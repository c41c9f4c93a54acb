// The assertions every kind of test shares, for a handler's result (as Lambda returns it) and for
// a reply over HTTP alike: an RFC 9457 problem with the contract's code, and nothing in a body that
// must stay on the server.
import { expect } from 'vitest'

/** A handler's result ({ statusCode, headers, body }) or an HTTP reply ({ status, text, contentType }). */
export type Answer =
  | { statusCode: number; headers?: Record<string, unknown>; body?: string }
  | { status: number; text: string; contentType: string }

const statusOf = (answer: Answer) => ('statusCode' in answer ? answer.statusCode : answer.status)
const textOf = (answer: Answer | string) =>
  typeof answer === 'string' ? answer : 'statusCode' in answer ? (answer.body ?? '') : answer.text
function contentTypeOf(answer: Answer): string {
  if (!('statusCode' in answer)) return answer.contentType
  const entry = Object.entries(answer.headers ?? {}).find(([name]) => name.toLowerCase() === 'content-type')
  return entry ? String(entry[1]) : ''
}

/** No password, hash, token secret, stack trace, SQL or server path in a body. */
export function expectNoSecrets(answer: Answer | string, secrets: readonly string[] = []): void {
  const text = textOf(answer)
  for (const secret of secrets.filter(Boolean)) expect(text).not.toContain(secret)
  expect(text).not.toMatch(/\$2[aby]\$\d\d\$/) // a bcrypt hash
  expect(text).not.toMatch(/\n\s+at \S+.*:\d+:\d+/) // a stack frame
  expect(text).not.toMatch(/\b(SELECT|INSERT|UPDATE|DELETE)\b .*\b(FROM|INTO|SET)\b/)
  expect(text).not.toMatch(/node_modules|\/work\/|ECONNREFUSED|ENOENT|password_hash/)
}

/** An RFC 9457 problem with this status and code, and no secret in it; returns the parsed body. */
export function expectProblem(answer: Answer, status: number, code: string, secrets: readonly string[] = []): any {
  expect({ status: statusOf(answer), contentType: contentTypeOf(answer) }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/problem\+json/),
  })
  const body = JSON.parse(textOf(answer))
  expect(body).toMatchObject({ type: `/problems/${code}`, title: expect.any(String), status, code })
  expectNoSecrets(answer, secrets)
  return body
}
