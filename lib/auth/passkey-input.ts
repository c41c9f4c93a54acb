// What the passkey routes take: a passkey's name, the authenticator's answer (an object from a
// program, or the same JSON as text from the page's form), and the current password to remove one.
import * as z from 'zod'
import { givenPassword } from './validation.ts'
import { PASSKEY_NAME_MAX } from './passkey-store.ts'

export const PasskeyName = z
  .string({ error: 'Name must be text.' })
  .trim()
  .min(1, 'Give the passkey a name, such as “YubiKey” or “Laptop”.')
  .max(PASSKEY_NAME_MAX, `Name must be at most ${PASSKEY_NAME_MAX} characters.`)
  // control characters would garble the list and the log
  .regex(/^[^\p{Cc}]*$/u, 'Name must not contain control characters.')

const Base64Url = z
  .string()
  .regex(/^[A-Za-z0-9_-]*$/, 'must be base64url')
  .max(12_000)

/** An authenticator's answer as @simplewebauthn/browser hands it over (PublicKeyCredential.toJSON()). */
const CredentialJson = (response: z.ZodRawShape) =>
  z.looseObject({
    id: Base64Url.min(16),
    rawId: Base64Url,
    type: z.literal('public-key'),
    response: z.looseObject({ clientDataJSON: Base64Url, ...response }),
    clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  })

export const RegistrationAnswer = CredentialJson({
  attestationObject: Base64Url,
  transports: z.array(z.string().max(32)).max(8).optional(),
})
export const AuthenticationAnswer = CredentialJson({
  authenticatorData: Base64Url,
  signature: Base64Url,
  userHandle: Base64Url.optional(),
})

/** The answer, whether sent as an object or as JSON text in a form field. */
const answer = <T extends z.ZodType>(schema: T) =>
  z.union([schema, z.string().max(14_000)]).meta({
    description: 'The authenticator’s answer (`PublicKeyCredential.toJSON()`), as an object or as JSON text.',
  })

/** Reads an answer that came as text; null when it is no answer of this kind. */
export function readAnswer<T extends z.ZodType>(schema: T, value: unknown): z.output<T> | null {
  let parsed = value
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value)
    } catch {
      return null
    }
  }
  const result = schema.safeParse(parsed)
  return result.success ? result.data : null
}

export const passkeyOptionsInput = z.object({ name: PasskeyName })
export const passkeyRegistrationInput = z.object({ name: PasskeyName, response: answer(RegistrationAnswer) })
export const passkeyRenameInput = z.object({ name: PasskeyName })
export const passkeyRemovalInput = z.object({ current_password: givenPassword('Current password') })
const Pending = z.string().max(64, 'pending is not a pending sign-in.').optional().meta({
  description: 'The handle from `second_factor.pending` (programs); a browser sends its cookie instead.',
})
export const passkeySignInOptionsInput = z.object({ pending: Pending })
export const passkeySignInInput = z.object({ pending: Pending, response: answer(AuthenticationAnswer) })
