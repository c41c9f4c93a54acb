// Input rules, one named schema per field, shared by register, login and password change.
// Any failure becomes 400 validation_failed with errors: [{ field, message }]. Extra fields
// (role, is_admin, …) are dropped by the object schemas, never stored.
import * as z from 'zod'
import { invalidFields } from '../problem.ts'
import { isCommonPassword } from './common-passwords.ts'
import { RETURN_TO_MAX_LENGTH } from './return-to.ts'
import { USERNAME_PATTERN } from './username.ts'

export { USERNAME_PATTERN, usernameKey } from './username.ts'

// NOTE: bcrypt only reads the first 72 bytes of its input; a longer password would be silently
// truncated, so it is refused instead (https://github.com/dcodeIO/bcrypt.js#security-considerations).
export const PASSWORD_MAX_BYTES = 72

export const text = (label: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `${label} is required.` : `${label} must be text.`) })

export const Username = text('Username')
  .min(3, 'Username must be at least 3 characters.')
  .max(32, 'Username must be at most 32 characters.')
  .regex(USERNAME_PATTERN, 'Username may only contain letters A–Z, digits, “.”, “_” and “-”.')

/**
 * Words an attacker tries first against this device (ASVS 6.1.2): the service's and the product's
 * names. Compared without case, spaces, dots, dashes or underscores ("Gateway-Auth 2026!" counts).
 * The username is the other context word (see registrationInput).
 */
export const CONTEXT_WORDS = ['gatewayauth', 'lorawan', 'rakwireless', 'wisgate'] as const
const containsContextWord = (password: string) => {
  const folded = password.toLowerCase().replace(/[\s._-]/g, '')
  return CONTEXT_WORDS.some((word) => folded.includes(word))
}

/**
 * A new password: length in code points, size in UTF-8 bytes, not common, no context word; the username is
 * checked with the object.
 */
export function newPassword(label: string, minLength: number) {
  return text(label)
    .refine((value) => [...value].length >= minLength, `${label} must be at least ${minLength} characters.`)
    .refine(
      (value) => Buffer.byteLength(value) <= PASSWORD_MAX_BYTES,
      `${label} must be at most ${PASSWORD_MAX_BYTES} bytes in UTF-8 (fewer characters if you use accents or symbols).`,
    )
    .refine((value) => !isCommonPassword(value), `${label} is one of the most commonly used passwords; choose another.`)
    .refine(
      (value) => !containsContextWord(value),
      `${label} must not contain the name of this service or device (gateway-auth, LoRaWAN, RAKwireless, WisGate).`,
    )
}

/** A password being checked, not chosen: present, text, and within bcrypt's 72 bytes. */
export const givenPassword = (label: string) =>
  text(label)
    .min(1, `${label} is required.`)
    .refine(
      (value) => Buffer.byteLength(value) <= PASSWORD_MAX_BYTES,
      `${label} must be at most ${PASSWORD_MAX_BYTES} bytes.`,
    )

/** True when `password` contains `username`, in any letter case. */
export const containsUsername = (password: string, username: string) =>
  password.toLowerCase().includes(username.toLowerCase())

/**
 * Where to go once signed in, by shape only: which URLs may be followed depends on the access rules
 * and the request's own origin, so lib/http/return-to.ts decides that (400 on the same field).
 */
export const ReturnTo = text('return_to')
  .max(RETURN_TO_MAX_LENGTH, `return_to must be at most ${RETURN_TO_MAX_LENGTH} characters.`)
  .optional()
  .meta({
    description:
      'Where to go once signed in: the URL of an app the access rules protect, or of this service ' +
      '(docs/front-door.md). Any other value is `validation_failed`.',
  })

export const registrationInput = (minLength: number) =>
  z
    .object({ username: Username, password: newPassword('Password', minLength), return_to: ReturnTo })
    // only a valid username is a word to keep out of the password ("" is in every password)
    .refine((input) => !USERNAME_PATTERN.test(input.username) || !containsUsername(input.password, input.username), {
      path: ['password'],
      message: 'Password must not contain the username.',
    })

export const loginInput = z.object({
  // the registration rules: a name no account can have is refused (400) before it is counted or
  // looked up, so what the throttle counts and what the lookup finds are one name (usernameKey)
  username: text('Username').min(1, 'Username is required.').pipe(Username),
  password: givenPassword('Password'),
  return_to: ReturnTo,
})

// the username rule needs the session's user: POST /password checks it once these pass
export const passwordChangeInput = (minLength: number) =>
  z.object({
    current_password: givenPassword('Current password'),
    new_password: newPassword('New password', minLength),
  })

/** Parses `body` with `schema` or throws validation_failed listing every bad field (first message each). */
export function parseInput<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body)
  if (result.success) return result.data
  const errors = new Map<string, string>()
  for (const issue of result.error.issues) {
    const field = String(issue.path[0] ?? 'body')
    if (!errors.has(field)) errors.set(field, issue.message)
  }
  throw invalidFields([...errors].map(([field, message]) => ({ field, message })))
}

/** What POST /sessions/end names: a session handle from the dashboard's list, or "others". */
export const OTHER_SESSIONS = 'others'
export const endSessionInput = z.object({
  session: text('Session').min(1, 'Session is required.').max(64, 'Session is not one of yours.'),
})

// the second factor (docs/decisions/019): a code is six digits (TOTP) or a recovery code; which one
// is decided by its shape when it is checked, so one field takes both
const Code = text('Code')
  .trim()
  .min(1, 'Code is required.')
  .max(64, 'Code is not a code from your app or a recovery code.')

/** The second step: the code, and (programs) the pending sign-in's handle; browsers carry it in a cookie. */
export const secondStepInput = z.object({
  code: Code,
  pending: text('pending').max(64, 'pending is not a pending sign-in.').optional().meta({
    description: 'The handle from `second_factor.pending` (programs); a browser sends its cookie instead.',
  }),
})

/** Changing the account's factors takes the current password again (a session alone is not enough). */
export const currentPasswordInput = z.object({ current_password: givenPassword('Current password') })

/** Confirming a new TOTP key: its first code, and the current password. */
export const totpConfirmInput = currentPasswordInput.extend({ code: Code })
