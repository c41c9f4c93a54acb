// The export format and the import rules (cli/accounts-file.ts): every bad line is named and
// nothing is written; a same-name account with another hash is a conflict, refused unless skip or
// overwrite is chosen; importing twice changes nothing. Against the real database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExportFileError, formatExport, parseExport, type ExportedAccount } from '../../cli/accounts-file.ts'
import { importAccounts } from '../../cli/accounts-import.ts'
import { hashPassword } from '#lib/auth/password.ts'
import { hashPoolFor } from '#lib/auth/hash-pool.ts'
import { loadConfig } from '#lib/platform/config.ts'
import { createSession, validateSession } from '#lib/auth/sessions.ts'
import { createUser, deleteUser, findUserByUsername, listUsers } from '#lib/auth/users.ts'
import { checkSecondFactorCode, secondFactorsOf } from '#lib/auth/second-factors.ts'
import { secondFactorsForExport } from '#lib/auth/second-factor-transfer.ts'
import { addPasskey } from '#lib/auth/passkey-store.ts'
import {
  authenticationOptions,
  registrationOptions,
  verifyPasskeySignIn,
  verifyRegistration,
} from '#lib/auth/passkeys.ts'
import { createCredential, getAssertion } from '../helpers/soft-authenticator.ts'
import { findTotp, startTotpEnrolment, useTotpStep } from '#lib/auth/totp.ts'
import { replaceRecoveryCodes } from '#lib/auth/recovery-codes.ts'
import { databaseKinds, startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { uniqueUsername } from '../helpers/factories.ts'

const HASH = `$2b$10$${'a'.repeat(53)}`
const OTHER_HASH = `$2b$10$${'b'.repeat(53)}`
const header = (accounts: number, extra: object = {}) =>
  JSON.stringify({
    format: 'gateway-auth/accounts',
    version: 1,
    exported_at: '2026-12-01T00:00:00.000Z',
    accounts,
    ...extra,
  })
const line = (fields: object = {}) =>
  JSON.stringify({
    username: 'alice',
    password_hash: HASH,
    created_at: '2026-11-01T10:00:00.000Z',
    last_login_time: null,
    previous_login_time: null,
    ...fields,
  })

function problemsOf(text: string): string[] {
  try {
    parseExport(text)
  } catch (error) {
    expect(error).toBeInstanceOf(ExportFileError)
    return (error as ExportFileError).problems
  }
  throw new Error('the file was accepted')
}

describe('parseExport', () => {
  /** An account as the database holds it (with its id), as formatExport takes it. */
  const stored = (id: string, username: string, over: object = {}) => ({
    id,
    username,
    passwordHash: HASH,
    createdAt: new Date('2026-11-01T10:00:00Z'),
    lastLoginTime: null as Date | null,
    previousLoginTime: null as Date | null,
    groups: [] as string[],
    ...over,
  })

  it('reads what formatExport writes', () => {
    const users = [
      stored('1', 'Alice', { groups: ['admins'] }),
      stored('2', 'bob', {
        passwordHash: OTHER_HASH,
        lastLoginTime: new Date('2026-11-30T08:00:00Z'),
        previousLoginTime: new Date('2026-11-29T08:00:00Z'),
      }),
    ]
    const text = formatExport(users, new Date('2026-12-01T00:00:00Z'))
    expect(text.split('\n')[0]).toBe(header(2, { version: 3 }))
    expect(parseExport(text)).toEqual(users.map(({ id: _id, ...account }) => account))
  })

  it('version 3 carries the second factors: the TOTP key and the recovery codes as SHA-256 only', () => {
    const user = stored('7', 'carol')
    const secondFactors = {
      totp: { secret: 'A'.repeat(32), confirmedAt: new Date('2026-11-03T10:00:00Z'), lastUsedStep: 59_000_000 },
      recoveryCodes: [{ sha256: 'f'.repeat(64), createdAt: new Date('2026-11-03T10:00:00Z'), usedAt: null }],
    }
    const text = formatExport([user], new Date('2026-12-01T00:00:00Z'), new Map([['7', secondFactors]]))
    const { id: _id, ...account } = user
    expect(parseExport(text)).toEqual([{ ...account, secondFactors }])
    expect(problemsOf(`${header(1, { version: 3 })}\n${line({ second_factors: { totp: { secret: 'x' } } })}`)).toEqual([
      expect.stringMatching(/^line 2: second_factors\.totp\.secret must be a base32 key/),
    ])
  })

  it.each([
    ['', /the file is empty/],
    ['{"hello":1}\n', /line 1 is not a gateway-auth\/accounts header/],
    [
      `${header(1, { version: 4 })}\n${line()}\n`,
      /format version 4 is not readable by this gateway-auth \(it reads versions 1, 2, 3\)/,
    ],
    [`${header(2)}\n${line()}\n`, /announces 2 accounts but the file has 1 lines/],
  ])('refuses a bad file as a whole: %j', (text, reason) => {
    expect(problemsOf(text).join('\n')).toMatch(reason)
  })

  it('accepts only the bcrypt costs the service allows (10 to 15), naming the line and the cost', () => {
    const withCost = (cost: string, name: string) =>
      line({ username: name, password_hash: `$2b$${cost}$${'a'.repeat(53)}` })
    const costs = ['04', '09', '10', '15', '16', '17', '31']
    const problems = problemsOf(
      [header(costs.length), ...costs.map((cost) => withCost(cost, `user${cost}`))].join('\n'),
    )
    expect(problems).toEqual([
      'line 2: password_hash has bcrypt cost 4; this service accepts costs 10 to 15',
      'line 3: password_hash has bcrypt cost 9; this service accepts costs 10 to 15',
      'line 6: password_hash has bcrypt cost 16; this service accepts costs 10 to 15',
      'line 7: password_hash has bcrypt cost 17; this service accepts costs 10 to 15',
      'line 8: password_hash has bcrypt cost 31; this service accepts costs 10 to 15',
    ])
  })

  it('names every bad line, never echoing a hash', () => {
    const lines = [
      header(7),
      line(),
      'not json',
      line({ username: 'ALICE' }),
      line({ username: 'b', password_hash: 'plaintext password' }),
      line({ username: 'carol', created_at: 'yesterday' }),
      line({ username: 'dave', role: 'admin' }),
      line({ username: 'erin', groups: ['Admins'] }),
    ]
    const problems = problemsOf(lines.join('\n'))
    expect(problems).toEqual([
      'line 3: not valid JSON',
      'line 4: ALICE is already on line 2',
      expect.stringMatching(/^line 5: username must be 3 to 32 .*; password_hash must be a bcrypt hash$/),
      'line 6: created_at must be an ISO 8601 date and time',
      'line 7: unknown field "role"',
      'line 8: groups.0 a group name is 1 to 32 of a-z 0-9 . _ - (lower case), starting with a letter or digit',
    ])
    expect(problems.join('\n')).not.toContain(HASH)
  })
})

describe.each(databaseKinds().slice(0, 1))('importAccounts (%s database)', (kind) => {
  let t: TestRuntime
  beforeAll(async () => {
    t = await startTestRuntime(kind)
  })
  afterAll(() => t?.stop())
  const now = new Date()
  const account = (username: string, passwordHash = HASH, groups: string[] = ['lorawan']): ExportedAccount => ({
    username,
    passwordHash,
    createdAt: new Date('2026-11-01T10:00:00Z'),
    lastLoginTime: new Date('2026-11-30T08:00:00Z'),
    previousLoginTime: new Date('2026-11-29T08:00:00Z'),
    groups,
  })

  it('creates new accounts with their hash and times; a second import finds them unchanged', async () => {
    const names = [uniqueUsername('imp'), uniqueUsername('imp')]
    const first = await importAccounts(
      t.runtime.db,
      names.map((name) => account(name)),
      'refuse',
      now,
    )
    expect(first).toMatchObject({ created: names, unchanged: [], conflicts: [] })
    const stored = await findUserByUsername(t.runtime.db, names[0]!)
    expect(stored).toMatchObject({
      passwordHash: HASH,
      createdAt: account('x').createdAt,
      lastLoginTime: account('x').lastLoginTime,
      previousLoginTime: account('x').previousLoginTime,
      // the first account of an empty database is also in admins (the trigger)
      groups: expect.arrayContaining(['lorawan']),
    })
    const again = await importAccounts(
      t.runtime.db,
      names.map((name) => account(name.toUpperCase())),
      'refuse',
      now,
    )
    expect(again).toMatchObject({ created: [], unchanged: names, conflicts: [] })
  })

  it('refuses conflicts and writes nothing at all, skips them, or overwrites them and ends their sessions', async () => {
    const db = t.runtime.db
    const taken = uniqueUsername('taken')
    const user = await createUser(
      db,
      taken,
      await hashPassword(
        { pool: hashPoolFor({ config: loadConfig({}) }), cost: 4, client: 'test' },
        'harbor lantern quartz meadow',
      ),
      now,
    )
    const { token } = await createSession(db, user, now, t.runtime)
    const fresh = uniqueUsername('fresh')
    const file = [account(fresh), account(taken, OTHER_HASH)]
    const count = async () => (await listUsers(db)).length
    const before = await count()

    expect(await importAccounts(db, file, 'refuse', now)).toMatchObject({ conflicts: [taken], created: [fresh] })
    expect(await count()).toBe(before) // the fresh account was rolled back with the rest
    expect(await importAccounts(db, file, 'overwrite', now, { dryRun: true })).toMatchObject({ overwritten: [taken] })
    expect((await findUserByUsername(db, taken))?.passwordHash).toBe(user.passwordHash)

    expect(await importAccounts(db, file, 'skip', now)).toMatchObject({ created: [fresh], skipped: [taken] })
    expect((await findUserByUsername(db, taken))?.passwordHash).toBe(user.passwordHash)
    await validateSession(db, token, now, t.runtime)

    expect(await importAccounts(db, file, 'overwrite', now)).toMatchObject({ unchanged: [fresh], overwritten: [taken] })
    expect((await findUserByUsername(db, taken))?.passwordHash).toBe(OTHER_HASH)
    await expect(validateSession(db, token, now, t.runtime)).rejects.toMatchObject({ code: 'unauthorized' })
  })

  it('carries the second factors: the imported account signs in with its TOTP key and recovery codes', async () => {
    const db = t.runtime.db
    const source = await createUser(db, uniqueUsername('src'), HASH, now)
    await startTotpEnrolment(db, source.id, now)
    const { secret } = (await findTotp(db, source.id))!
    await useTotpStep(db, source.id, 1, now, { confirming: true })
    const codes = await replaceRecoveryCodes(db, source.id, now)
    const exported = parseExport(formatExport([source], now, await secondFactorsForExport(db)))
    const moved = { ...exported[0]!, username: uniqueUsername('moved') }
    expect(await importAccounts(db, [moved], 'refuse', now)).toMatchObject({ created: [moved.username] })
    const imported = (await findUserByUsername(db, moved.username))!
    expect(await secondFactorsOf(db, imported.id)).toEqual(['totp'])
    expect((await findTotp(db, imported.id))?.secret).toBe(secret)
    expect(await checkSecondFactorCode(db, imported.id, codes[3]!, now)).toEqual({ method: 'recovery', left: 9 })
    // overwritten by a version 2 line (no second factors): the file's account, without them
    const { secondFactors: _, ...withoutFactors } = moved
    await importAccounts(db, [{ ...withoutFactors, passwordHash: OTHER_HASH }], 'overwrite', now)
    expect(await secondFactorsOf(db, imported.id)).toEqual([])
  })

  it('carries passkeys, public keys only: the moved account signs in with the same authenticator', async () => {
    const db = t.runtime.db
    const site = { rpId: 'gateway.example', origin: 'https://gateway.example' }
    const source = await createUser(db, uniqueUsername('keys'), HASH, now)
    const holder = { userId: source.id, username: source.username, boundTo: 'session:export' }
    const options = await registrationOptions(db, holder, site, now)
    const { credential, answer } = createCredential(options, { origin: site.origin })
    await addPasskey(db, { ...(await verifyRegistration(db, holder, answer, now)), name: 'YubiKey' }, now)
    const text = formatExport([source], now, await secondFactorsForExport(db))
    expect(text).not.toContain(credential.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url'))
    const [exported] = parseExport(text)
    expect(exported!.secondFactors?.passkeys).toMatchObject([{ name: 'YubiKey', rpId: 'gateway.example', counter: 0 }])
    // another database: the credential is not there yet
    await deleteUser(db, source.id)
    const moved = { ...exported!, username: uniqueUsername('moved') }
    await importAccounts(db, [moved], 'refuse', now)
    const imported = (await findUserByUsername(db, moved.username))!
    expect(await secondFactorsOf(db, imported.id)).toEqual(['passkey'])
    const signingIn = { userId: imported.id, username: imported.username, boundTo: 'pending:export' }
    const request = await authenticationOptions(db, signingIn, site, now)
    const signed = getAssertion(credential, request, { origin: site.origin })
    expect((await verifyPasskeySignIn(db, signingIn, signed, now)).name).toBe('YubiKey')
  })
})
