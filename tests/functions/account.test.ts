// GET /account: the signed-in account's own data, never its password or hash.
import { expect } from 'vitest'
import { runScenarios, type Scenario } from '../helpers/scenarios.ts'

const GET_ACCOUNT = { method: 'GET', path: '/account' } as const

const scenarios: Scenario[] = [
  { name: 'signed out → 401 unauthorized', request: GET_ACCOUNT, expect: { status: 401, code: 'unauthorized' } },
  {
    name: 'a signed-out session → 401 unauthorized',
    as: 'signed-out',
    request: GET_ACCOUNT,
    expect: { status: 401, code: 'unauthorized' },
  },
  {
    name: 'signed in → the own account, no password hash',
    as: 'signed-in',
    request: GET_ACCOUNT,
    expect: {
      status: 200,
      json: ({ username }) => ({ user: { username, last_login_time: expect.any(String), previous_login_time: null } }),
      absent: ['password', 'hash', '$2'],
    },
  },
]

runScenarios('GET /account', scenarios)
