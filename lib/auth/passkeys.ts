// Passkey ceremonies through @simplewebauthn/server: the options a browser hands its authenticator,
// and the checks of what comes back. Every answer is checked against a challenge this service issued
// (single use, CEREMONY_TIMEOUT_MS) to the same holder, at the same RP ID and origin; sign-ins also
// check the signature counter. Passkeys are a second factor (docs/decisions/020-passkeys.md).
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server'
import type { Queryable } from '../platform/database.ts'
import { invalidFields, Problem } from '../problem.ts'
import {
  countPasskeys,
  findPasskey,
  listPasskeys,
  MAX_PASSKEYS_PER_ACCOUNT,
  recordPasskeyUse,
  type NewPasskey,
  type Passkey,
} from './passkey-store.ts'
import { AuthenticationAnswer, readAnswer, RegistrationAnswer } from './passkey-input.ts'
import { CEREMONY_TIMEOUT_MS, saveChallenge, takeChallenge } from './webauthn-challenges.ts'

/** Where the ceremony happens: the page's RP ID and origin (lib/http/passkey-context.ts). */
export interface PasskeySite {
  readonly rpId: string
  readonly origin: string
}

/** Who asks: the account, and the session or pending sign-in the challenge is bound to. */
export interface CeremonyHolder {
  readonly userId: string
  readonly username: string
  /** 'session:<id>' or 'pending:<id>'. */
  readonly boundTo: string
}

// @simplewebauthn/server and its ASN.1 and X.509 parsers weigh ~27 MB of RSS: loaded at the first
// ceremony, not with the routes (a gateway where nobody uses passkeys never pays for them)
const webauthn = () => import('@simplewebauthn/server')

const transportsOf = (passkey: Passkey) => passkey.transports as AuthenticatorTransport[]

/** Why an answer was refused; the reason goes to the log, the client gets passkey_rejected. */
export class PasskeyRejected extends Problem {
  readonly reason: string
  constructor(reason: string) {
    super('passkey_rejected', { detail: 'The passkey’s answer could not be verified. Try again.' })
    this.reason = reason
  }
}

/** Refuses (400 validation_failed on `name`) when the account holds MAX_PASSKEYS_PER_ACCOUNT already. */
export async function ensureRoomForPasskey(db: Queryable, userId: string): Promise<void> {
  if ((await countPasskeys(db, userId)) < MAX_PASSKEYS_PER_ACCOUNT) return
  throw invalidFields(
    [
      {
        field: 'name',
        message: `You have ${MAX_PASSKEYS_PER_ACCOUNT} passkeys, the most an account holds: remove one first.`,
      },
    ],
    'No room for another passkey.',
  )
}

/** Options for navigator.credentials.create(): a new passkey for the holder's account at `site`. */
export async function registrationOptions(
  db: Queryable,
  holder: CeremonyHolder,
  site: PasskeySite,
  now: Date,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  await ensureRoomForPasskey(db, holder.userId)
  const existing = (await listPasskeys(db, holder.userId)).filter((passkey) => passkey.rpId === site.rpId)
  const options = await (await webauthn()).generateRegistrationOptions({
    rpName: 'Gateway auth',
    rpID: site.rpId,
    userName: holder.username,
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: 'none',
    // the same authenticator twice would be one factor listed twice
    excludeCredentials: existing.map((passkey) => ({ id: passkey.credentialId, transports: transportsOf(passkey) })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  })
  await saveChallenge(db, { challenge: options.challenge, purpose: 'register', ...holder, ...site }, now)
  return options
}

/**
 * Checks a registration answer (an object, or JSON text) against the holder's challenge, which is
 * used up first, whatever follows; the credential to store, or PasskeyRejected.
 */
export async function verifyRegistration(
  db: Queryable,
  holder: CeremonyHolder,
  answer: unknown,
  now: Date,
): Promise<Omit<NewPasskey, 'name'>> {
  const challenge = await takeChallenge(db, holder.boundTo, 'register', now)
  if (!challenge || challenge.userId !== holder.userId) throw new PasskeyRejected('no open challenge')
  const response = readAnswer(RegistrationAnswer, answer)
  if (!response) throw new PasskeyRejected('not a registration answer')
  const result = await (await webauthn())
    .verifyRegistrationResponse({
      response: response as unknown as RegistrationResponseJSON,
      expectedChallenge: challenge.challenge,
      expectedOrigin: challenge.origin,
      expectedRPID: challenge.rpId,
      requireUserVerification: false,
    })
    .catch((error: Error) => {
      throw new PasskeyRejected(error.message)
    })
  if (!result.verified) throw new PasskeyRejected('not verified')
  const { credential } = result.registrationInfo
  return {
    userId: holder.userId,
    credentialId: credential.id,
    publicKey: credential.publicKey,
    counter: credential.counter,
    transports: credential.transports ?? [],
    rpId: challenge.rpId,
  }
}

/** The account's passkeys that work at `site` (a passkey works only under its RP ID). */
export async function passkeysAt(db: Queryable, userId: string, site: Pick<PasskeySite, 'rpId'>) {
  return (await listPasskeys(db, userId)).filter((passkey) => passkey.rpId === site.rpId)
}

/** Options for navigator.credentials.get(): any of the account's passkeys at `site`. */
export async function authenticationOptions(
  db: Queryable,
  holder: CeremonyHolder,
  site: PasskeySite,
  now: Date,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const passkeys = await passkeysAt(db, holder.userId, site)
  const options = await (await webauthn()).generateAuthenticationOptions({
    rpID: site.rpId,
    timeout: CEREMONY_TIMEOUT_MS,
    allowCredentials: passkeys.map((passkey) => ({ id: passkey.credentialId, transports: transportsOf(passkey) })),
    userVerification: 'preferred',
  })
  await saveChallenge(db, { challenge: options.challenge, purpose: 'authenticate', ...holder, ...site }, now)
  return options
}

/**
 * Checks a sign-in answer (its challenge used up first, as for registration): the holder's
 * challenge, one of its account's passkeys at that RP ID, a rising counter. Records the use.
 */
export async function verifyPasskeySignIn(
  db: Queryable,
  holder: CeremonyHolder,
  answer: unknown,
  now: Date,
): Promise<Passkey> {
  const challenge = await takeChallenge(db, holder.boundTo, 'authenticate', now)
  if (!challenge || challenge.userId !== holder.userId) throw new PasskeyRejected('no open challenge')
  const response = readAnswer(AuthenticationAnswer, answer) as unknown as AuthenticationResponseJSON | null
  if (!response) throw new PasskeyRejected('not a sign-in answer')
  const passkey = await findPasskey(db, holder.userId, response.id)
  if (!passkey || passkey.rpId !== challenge.rpId) throw new PasskeyRejected('not a passkey of this account here')
  const result = await (await webauthn())
    .verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge.challenge,
      expectedOrigin: challenge.origin,
      expectedRPID: challenge.rpId,
      credential: { id: passkey.credentialId, publicKey: new Uint8Array(passkey.publicKey), counter: passkey.counter },
      requireUserVerification: false,
    })
    .catch((error: Error) => {
      // a counter that did not rise (where the authenticator counts) is a cloned authenticator's sign
      throw new PasskeyRejected(error.message)
    })
  if (!result.verified) throw new PasskeyRejected('not verified')
  await recordPasskeyUse(db, passkey.id, result.authenticationInfo.newCounter, now)
  return passkey
}
