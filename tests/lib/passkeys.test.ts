// The passkey ceremonies' rules, with a software authenticator and an injected clock: a challenge
// answers once, within its time, for its holder only; the origin and the RP ID must be the page's;
// a sign-in's counter must rise. Each refusal is a PasskeyRejected (400 passkey_rejected).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  authenticationOptions,
  PasskeyRejected,
  registrationOptions,
  verifyPasskeySignIn,
  verifyRegistration,
  type CeremonyHolder,
} from '#lib/auth/passkeys.ts'
import { addPasskey, listPasskeys, MAX_PASSKEYS_PER_ACCOUNT } from '#lib/auth/passkey-store.ts'
import { CEREMONY_TIMEOUT_MS } from '#lib/auth/webauthn-challenges.ts'
import { createUser } from '#lib/auth/users.ts'
import { secondFactorsOf } from '#lib/auth/second-factors.ts'
import { resetSecondFactorCommand } from '../../cli/users.ts'
import type { Database } from '#lib/platform/database.ts'
import { databaseKinds, startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { uniqueUsername } from '../helpers/factories.ts'
import { createCredential, getAssertion, type SoftCredential } from '../helpers/soft-authenticator.ts'

const T = new Date('2026-03-01T12:00:00.000Z')
const at = (ms: number) => new Date(T.getTime() + ms)
const SITE = { rpId: 'gateway.example', origin: 'https://gateway.example' }

let t: TestRuntime
let db: Database
beforeAll(async () => {
  t = await startTestRuntime(databaseKinds()[0]!)
  db = t.runtime.db
})
afterAll(() => t?.stop())

async function holder(boundTo = `session:${Math.random()}`): Promise<CeremonyHolder> {
  const user = await createUser(db, uniqueUsername('pk'), 'x', T)
  return { userId: user.id, username: user.username, boundTo }
}

/** Registers a passkey for `who` at SITE and returns the authenticator's credential. */
async function registered(who: CeremonyHolder): Promise<SoftCredential> {
  const options = await registrationOptions(db, who, SITE, T)
  const { credential, answer } = createCredential(options, { origin: SITE.origin })
  const verified = await verifyRegistration(db, who, answer, at(1000))
  await addPasskey(db, { ...verified, name: 'Key' }, at(1000))
  return credential
}

/** Refused as PasskeyRejected, for the reason given (the log's `reason`). */
const rejected = async (promise: Promise<unknown>, reason: RegExp = /./) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(PasskeyRejected)
  expect((error as PasskeyRejected).reason).toMatch(reason)
}
const NO_CHALLENGE = /^no open challenge$/
const ORIGIN = /origin/i
const RP_ID = /RP ID/i

describe('registering a passkey', () => {
  it('verifies an answer to the open challenge at the page’s RP ID and origin, and keeps its public key', async () => {
    const who = await holder()
    const options = await registrationOptions(db, who, SITE, T)
    expect(options).toMatchObject({ rp: { id: 'gateway.example' }, timeout: CEREMONY_TIMEOUT_MS, attestation: 'none' })
    const { credential, answer } = createCredential(options, { origin: SITE.origin })
    const verified = await verifyRegistration(db, who, answer, at(CEREMONY_TIMEOUT_MS - 1))
    expect(verified).toMatchObject({ credentialId: credential.id, rpId: 'gateway.example', counter: 0 })
    expect(verified.transports).toEqual(['internal'])
  })

  const refusals = [
    {
      name: 'the same answer a second time (the challenge is used up)',
      answerTwice: true,
      reason: NO_CHALLENGE,
    },
    { name: 'an answer after the challenge expired', when: at(CEREMONY_TIMEOUT_MS), reason: NO_CHALLENGE },
    { name: 'an answer from another origin', origin: 'https://evil.example', reason: ORIGIN },
    { name: 'an answer from the same name over plain HTTP', origin: 'http://gateway.example', reason: ORIGIN },
    { name: 'an answer signed for another RP ID', rpId: 'evil.example', reason: RP_ID },
    { name: 'an answer from another holder (session)', otherHolder: true, reason: NO_CHALLENGE },
    { name: 'text that is no answer', garbage: true, reason: /not a registration answer/ },
  ]
  it.each(refusals)('refuses $name, and stores nothing', async (scenario) => {
    const who = await holder()
    const options = await registrationOptions(db, who, SITE, T)
    const { answer } = createCredential(options, { origin: scenario.origin ?? SITE.origin, rpId: scenario.rpId })
    if (scenario.answerTwice) await verifyRegistration(db, who, answer, at(1000))
    const asker = scenario.otherHolder ? { ...who, boundTo: 'session:another' } : who
    const sent = scenario.garbage ? '{"id":' : answer
    await rejected(verifyRegistration(db, asker, sent, scenario.when ?? at(1000)), scenario.reason)
    expect(await listPasskeys(db, who.userId)).toEqual([])
  })

  it('uses the challenge up even when the answer is refused: a good answer after a bad one fails', async () => {
    const who = await holder()
    const options = await registrationOptions(db, who, SITE, T)
    const bad = createCredential(options, { origin: 'https://evil.example' }).answer
    const good = createCredential(options, { origin: SITE.origin }).answer
    await rejected(verifyRegistration(db, who, bad, at(1000)))
    await rejected(verifyRegistration(db, who, good, at(1000)), NO_CHALLENGE)
  })

  it('asking again replaces the open challenge: an answer to the first is refused', async () => {
    const who = await holder()
    const first = await registrationOptions(db, who, SITE, T)
    await registrationOptions(db, who, SITE, T)
    const answer = createCredential(first, { origin: SITE.origin }).answer
    await rejected(verifyRegistration(db, who, answer, at(1000)), /challenge/i)
  })

  it('excludes the account’s passkeys at this RP ID, so one authenticator is not added twice', async () => {
    const who = await holder()
    const credential = await registered(who)
    const options = await registrationOptions(db, who, SITE, T)
    expect(options.excludeCredentials?.map((c) => c.id)).toEqual([credential.id])
    const elsewhere = await registrationOptions(db, who, { rpId: 'localhost', origin: 'http://localhost:8085' }, T)
    expect(elsewhere.excludeCredentials).toEqual([])
  })

  it('holds at most MAX_PASSKEYS_PER_ACCOUNT: the next is refused before any challenge, naming the field', async () => {
    const who = await holder()
    for (let i = 0; i < MAX_PASSKEYS_PER_ACCOUNT; i++) await registered(who)
    const refusal = await registrationOptions(db, who, SITE, T).then(
      () => null,
      (error: unknown) => error,
    )
    expect(refusal).toMatchObject({ code: 'validation_failed', extra: { errors: [{ field: 'name' }] } })
    expect(await listPasskeys(db, who.userId)).toHaveLength(MAX_PASSKEYS_PER_ACCOUNT)
  })
})

describe('signing in with a passkey', () => {
  async function signInOptions(who: CeremonyHolder, site = SITE) {
    return authenticationOptions(db, { ...who, boundTo: `pending:1${who.boundTo}` }, site, at(2000))
  }
  const signIn = (who: CeremonyHolder, answer: unknown, when = at(3000)) =>
    verifyPasskeySignIn(db, { ...who, boundTo: `pending:1${who.boundTo}` }, answer, when)

  it('accepts a signature of the open challenge, and records the new counter and the time', async () => {
    const who = await holder()
    const credential = await registered(who)
    const options = await signInOptions(who)
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([credential.id])
    const passkey = await signIn(who, getAssertion(credential, options, { origin: SITE.origin, counter: 7 }))
    expect(passkey.credentialId).toBe(credential.id)
    expect((await listPasskeys(db, who.userId))[0]).toMatchObject({ counter: 7, lastUsedAt: at(3000) })
  })

  it('refuses a counter that does not rise (a cloned authenticator), and keeps the stored one', async () => {
    const who = await holder()
    const credential = await registered(who)
    await signIn(who, getAssertion(credential, await signInOptions(who), { origin: SITE.origin, counter: 7 }))
    const again = getAssertion(credential, await signInOptions(who), { origin: SITE.origin, counter: 7 })
    await rejected(signIn(who, again), /counter/i)
    expect((await listPasskeys(db, who.userId))[0]!.counter).toBe(7)
  })

  const refusals = [
    { name: 'the same answer twice', twice: true, reason: NO_CHALLENGE },
    { name: 'an answer after the challenge expired', when: at(2000 + CEREMONY_TIMEOUT_MS), reason: NO_CHALLENGE },
    { name: 'an answer from another origin', origin: 'https://evil.example', reason: ORIGIN },
    { name: 'an answer signed for another RP ID', rpId: 'evil.example', reason: RP_ID },
    { name: 'another account’s passkey', otherAccount: true, reason: /not a passkey of this account/ },
  ]
  it.each(refusals)('refuses $name', async (scenario) => {
    const who = await holder()
    const own = await registered(who)
    const credential = scenario.otherAccount ? await registered(await holder()) : own
    const options = await signInOptions(who)
    const answer = getAssertion(credential, options, { origin: scenario.origin ?? SITE.origin, rpId: scenario.rpId })
    if (scenario.twice) await signIn(who, answer)
    await rejected(signIn(who, answer, scenario.when), scenario.reason)
  })

  it('offers and accepts only passkeys of the RP ID the page is at', async () => {
    const who = await holder()
    const credential = await registered(who)
    const localhost = { rpId: 'localhost', origin: 'http://localhost:8085' }
    const options = await signInOptions(who, localhost)
    expect(options.allowCredentials).toEqual([])
    const answer = getAssertion(credential, options, { origin: localhost.origin, rpId: 'localhost' })
    await rejected(signIn(who, answer), /not a passkey of this account here/)
  })
})

describe('the admin’s last resort', () => {
  it('users reset-2fa removes the passkeys with the other second factors', async () => {
    const who = await holder()
    await registered(who)
    const lines: string[] = []
    const { config, log } = t.runtime
    await resetSecondFactorCommand({ config, db, log, now: T, out: (line) => lines.push(line) }, who.username)
    expect(lines).toEqual([expect.stringMatching(/^second factors of .* removed \(passkey\)/)])
    expect(await listPasskeys(db, who.userId)).toEqual([])
    expect(await secondFactorsOf(db, who.userId)).toEqual([])
  })
})
