// GET /account: the signed-in account's own data, as JSON: what the service keeps about it, but
// the password hash (and the sessions, which the dashboard lists).
import * as z from 'zod'
import { defineRoute, route } from '#lib/http/route.ts'
import { jsonResult, Timestamp, userJson, UserJson } from '#lib/http/json.ts'

const AccountJson = z.object({
  user: UserJson.extend({
    previous_login_time: Timestamp.nullable().meta({ description: 'The sign-in before the latest one.' }),
  }),
})

export const spec = defineRoute({
  keys: ['GET /account'],
  summary: "The signed-in account's own data, as JSON (never the password hash)",
  tag: 'session',
  auth: 'required',
  answers: 'json',
  responses: { 200: { description: 'The account.', json: AccountJson } },
  problems: ['internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event) => {
  const user = event.auth.user
  const body: z.output<typeof AccountJson> = {
    user: { ...userJson(user), previous_login_time: user.previousLoginTime?.toISOString() ?? null },
  }
  return jsonResult(200, body)
})
