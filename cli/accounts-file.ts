// Accounts carried between databases: `gateway-auth export` writes them, `gateway-auth import`
// reads them (embedded PostgreSQL → a server, one device → another, across major versions, a
// backup). The format is JSON Lines: a header naming the format, its version and the number of
// accounts (so a cut-off file is noticed), then one account a line with its bcrypt hash and its
// times and groups. Sessions and throttling counters are not carried: they are short-lived state.
// Version 2 added `groups`; a version 1 file (no groups) is still read, its accounts in none.
// Version 3 added `second_factors` (an account that has one): the TOTP key in the clear and the
// recovery codes' SHA-256 digests (lib/auth/second-factor-transfer.ts). The file is secret material:
// it is written 0600, and whoever reads it can sign in as any account whose password they guess or
// know. Versions 1 and 2 are still read (no second factors). `passkeys` (when the account has any)
// carries their public keys (base64url), counters, transports, the name (RP ID) each works at, and
// its label.
//
//   {"format":"gateway-auth/accounts","version":3,"exported_at":"2026-12-01T04:00:00.000Z","accounts":1}
//   {"username":"alice","password_hash":"$2b$10$…","created_at":"2026-11-02T09:15:00.000Z",
//    "last_login_time":null,"previous_login_time":null,"groups":["admins"],
//    "second_factors":{"totp":{"secret":"JBSW…","confirmed_at":"…","last_used_step":59000000},
//      "recovery_codes":[{"sha256":"9f86…","created_at":"…","used_at":null}]}}   (one line in the file)
//
// Import (cli/accounts-import.ts) reads the file line by line, each line checked here.
import * as z from 'zod'
import type { User } from '#lib/auth/users.ts'
import type { CarriedPasskey, CarriedSecondFactors } from '#lib/auth/second-factor-transfer.ts'
import { USERNAME_PATTERN } from '#lib/auth/validation.ts'
import { GroupName } from '#lib/auth/groups.ts'
import { hashCost, MAX_BCRYPT_COST, MIN_BCRYPT_COST } from '#lib/platform/bcrypt-costs.ts'

export const EXPORT_FORMAT = 'gateway-auth/accounts'
export const EXPORT_VERSION = 3
const READABLE_VERSIONS = [1, 2, EXPORT_VERSION]

// $2a$/$2b$/$2y$, a two-digit cost, 22 characters of salt and 31 of hash (bcrypt's base64)
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/
const allowedCost = (hash: string) => hashCost(hash) >= MIN_BCRYPT_COST && hashCost(hash) <= MAX_BCRYPT_COST
const timestamp = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date and time' })

const Header = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.number().int().positive(),
  exported_at: timestamp.optional(),
  accounts: z.number().int().nonnegative({ error: 'must be the number of accounts' }),
})

const AccountLine = z.strictObject({
  username: z.string().regex(USERNAME_PATTERN, 'must be 3 to 32 of A-Z a-z 0-9 . _ -'),
  password_hash: z
    .string()
    .regex(BCRYPT_HASH, 'must be a bcrypt hash')
    // a higher cost would hold a bcrypt worker for minutes per sign-in, a lower one is weaker than allowed
    .refine((hash) => !BCRYPT_HASH.test(hash) || allowedCost(hash), {
      error: (issue) =>
        `has bcrypt cost ${hashCost(String(issue.input))}; ` +
        `this service accepts costs ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}`,
    }),
  created_at: timestamp,
  last_login_time: timestamp.nullable(),
  previous_login_time: timestamp.nullable(),
  groups: z.array(GroupName).max(32).optional(),
  second_factors: z
    .strictObject({
      totp: z
        .strictObject({
          secret: z.string().regex(/^[A-Z2-7]{32,}$/, 'must be a base32 key of 160 bits or more'),
          confirmed_at: timestamp,
          last_used_step: z.number().int().nonnegative().nullable(),
        })
        .nullable(),
      recovery_codes: z
        .array(
          z.strictObject({
            sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest in hex'),
            created_at: timestamp,
            used_at: timestamp.nullable(),
          }),
        )
        .max(100),
      passkeys: z
        .array(
          z.strictObject({
            credential_id: z.string().regex(/^[A-Za-z0-9_-]{16,1364}$/, 'must be a base64url credential id'),
            public_key: z.string().regex(/^[A-Za-z0-9_-]{16,2048}$/, 'must be a base64url COSE public key'),
            counter: z.number().int().nonnegative(),
            transports: z.array(z.string().regex(/^[a-z-]{1,32}$/)).max(8),
            rp_id: z.string().min(1).max(253),
            name: z.string().min(1).max(64),
            created_at: timestamp,
            last_used_at: timestamp.nullable(),
          }),
        )
        .max(100)
        .optional(),
    })
    .optional(),
})

/** An account as the file carries it: everything but its id (the importing database makes its own). */
export type ExportedAccount = Omit<User, 'id'> & { readonly secondFactors?: CarriedSecondFactors }

/** Every problem found in an export file, one line each (`line 3: …`); nothing was written. */
export class ExportFileError extends Error {
  override name = 'ExportFileError'
  readonly problems: string[]
  constructor(problems: string[]) {
    super(problems.join('\n'))
    this.problems = problems
  }
}

/** The export of `users`, ready to write: the header line, then one line per account. */
export function formatExport(
  users: readonly User[],
  now: Date,
  factors: ReadonlyMap<string, CarriedSecondFactors> = new Map(),
): string {
  const header = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exported_at: now.toISOString(),
    accounts: users.length,
  }
  const lines = users.map((user) =>
    JSON.stringify({
      username: user.username,
      password_hash: user.passwordHash,
      created_at: user.createdAt.toISOString(),
      last_login_time: user.lastLoginTime?.toISOString() ?? null,
      previous_login_time: user.previousLoginTime?.toISOString() ?? null,
      groups: user.groups,
      ...secondFactorsLine(factors.get(user.id)),
    }),
  )
  return [JSON.stringify(header), ...lines].map((line) => `${line}\n`).join('')
}

const secondFactorsLine = (factors: CarriedSecondFactors | undefined) =>
  factors
    ? {
        second_factors: {
          totp: factors.totp && {
            secret: factors.totp.secret,
            confirmed_at: factors.totp.confirmedAt.toISOString(),
            last_used_step: factors.totp.lastUsedStep,
          },
          recovery_codes: factors.recoveryCodes.map((code) => ({
            sha256: code.sha256,
            created_at: code.createdAt.toISOString(),
            used_at: code.usedAt?.toISOString() ?? null,
          })),
          ...(factors.passkeys?.length ? { passkeys: factors.passkeys.map(passkeyLine) } : {}),
        },
      }
    : {}

const passkeyLine = (passkey: CarriedPasskey) => ({
  credential_id: passkey.credentialId,
  public_key: Buffer.from(passkey.publicKey).toString('base64url'),
  counter: passkey.counter,
  transports: passkey.transports,
  rp_id: passkey.rpId,
  name: passkey.name,
  created_at: passkey.createdAt.toISOString(),
  last_used_at: passkey.lastUsedAt?.toISOString() ?? null,
})

function carriedSecondFactors(line: z.infer<typeof AccountLine>): { secondFactors?: CarriedSecondFactors } {
  const factors = line.second_factors
  if (!factors) return {}
  const totp = factors.totp && {
    secret: factors.totp.secret,
    confirmedAt: new Date(factors.totp.confirmed_at),
    lastUsedStep: factors.totp.last_used_step,
  }
  const recoveryCodes = factors.recovery_codes.map((code) => ({
    sha256: code.sha256,
    createdAt: new Date(code.created_at),
    usedAt: dateOrNull(code.used_at),
  }))
  const passkeys = factors.passkeys?.map((passkey) => ({
    credentialId: passkey.credential_id,
    publicKey: new Uint8Array(Buffer.from(passkey.public_key, 'base64url')),
    counter: passkey.counter,
    transports: passkey.transports,
    rpId: passkey.rp_id,
    name: passkey.name,
    createdAt: new Date(passkey.created_at),
    lastUsedAt: dateOrNull(passkey.last_used_at),
  }))
  return { secondFactors: { totp, recoveryCodes, ...(passkeys?.length ? { passkeys } : {}) } }
}

// a file with more bad lines names the first ones and counts the rest
const MAX_PROBLEMS_LISTED = 100
/** Accounts handed on together by readExport: what importAccounts looks up and inserts at once. */
export const IMPORT_BATCH = 1000

/** Checks an export one line at a time: what parseExport and readExport share. */
class ExportChecker {
  private header: z.infer<typeof Header> | undefined
  private lineNumber = 0
  private accountLines = 0
  private unlisted = 0
  private readonly seen = new Map<string, number>()
  readonly problems: string[] = []

  /** The account on the next line; undefined for a blank line, the header, or a line with a problem. */
  next(raw: string): ExportedAccount | undefined {
    this.lineNumber++
    const text = raw.replace(/\r$/, '')
    if (text.trim() === '') return undefined
    if (!this.header) {
      this.header = readHeader(text)
      return undefined
    }
    this.accountLines++
    const parsed = parseLine(text, AccountLine)
    if (typeof parsed === 'string') return this.problem(`line ${this.lineNumber}: ${parsed}`)
    const key = parsed.username.toLowerCase()
    const earlier = this.seen.get(key)
    if (earlier !== undefined)
      return this.problem(`line ${this.lineNumber}: ${parsed.username} is already on line ${earlier}`)
    this.seen.set(key, this.lineNumber)
    return {
      username: parsed.username,
      passwordHash: parsed.password_hash,
      createdAt: new Date(parsed.created_at),
      lastLoginTime: dateOrNull(parsed.last_login_time),
      previousLoginTime: dateOrNull(parsed.previous_login_time),
      groups: [...new Set(parsed.groups ?? [])].sort(),
      ...carriedSecondFactors(parsed),
    }
  }

  /** After the last line: throws ExportFileError if any line, or the count, was wrong. */
  finish(): void {
    if (!this.header) throw new ExportFileError(['the file is empty: expected a gateway-auth export'])
    if (this.accountLines !== this.header.accounts) {
      this.problem(
        `the header announces ${this.header.accounts} accounts but the file has ${this.accountLines} lines: ` +
          'it is incomplete or was edited',
      )
    }
    if (this.unlisted) this.problems.push(`… and ${this.unlisted} more problems`)
    if (this.problems.length) throw new ExportFileError(this.problems)
  }

  private problem(text: string): undefined {
    if (this.problems.length < MAX_PROBLEMS_LISTED) this.problems.push(text)
    else this.unlisted++
    return undefined
  }
}

/** Parses and checks a whole export; throws ExportFileError listing every bad line. */
export function parseExport(text: string): ExportedAccount[] {
  const checker = new ExportChecker()
  const accounts: ExportedAccount[] = []
  for (const line of text.split('\n')) {
    const account = checker.next(line)
    if (account) accounts.push(account)
  }
  checker.finish()
  return accounts
}

/**
 * Reads an export line by line and hands its accounts on in batches of IMPORT_BATCH, so a file of
 * any size takes the memory of one batch (and the set of names, to find duplicates). After a bad
 * line nothing more is handed on, but every line is still checked; at the end a bad file throws
 * ExportFileError, after batches were handed on: the caller writes them in a transaction it rolls back.
 */
export async function* readExport(lines: AsyncIterable<string>): AsyncGenerator<ExportedAccount[]> {
  const checker = new ExportChecker()
  let batch: ExportedAccount[] = []
  for await (const line of lines) {
    const account = checker.next(line)
    if (!account || checker.problems.length) continue
    batch.push(account)
    if (batch.length === IMPORT_BATCH) {
      yield batch
      batch = []
    }
  }
  checker.finish()
  if (batch.length) yield batch
}

const dateOrNull = (value: string | null) => (value === null ? null : new Date(value))

function readHeader(text: string): z.infer<typeof Header> {
  const header = parseLine(text, Header)
  if (typeof header === 'string') throw new ExportFileError([`line 1 is not a ${EXPORT_FORMAT} header: ${header}`])
  if (!READABLE_VERSIONS.includes(header.version)) {
    throw new ExportFileError([
      `line 1: format version ${header.version} is not readable by this gateway-auth ` +
        `(it reads versions ${READABLE_VERSIONS.join(', ')}); use a newer one`,
    ])
  }
  return header
}

/** The line as `schema` sees it, or a one-line reason (never the line itself: it may hold a hash). */
function parseLine<T>(text: string, schema: z.ZodType<T>): T | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return 'not valid JSON'
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object'
  const result = schema.safeParse(value)
  if (result.success) return result.data
  return result.error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys')
        return `unknown field ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`
      const field = issue.path.join('.')
      if (issue.code === 'invalid_type' && issue.input === undefined) return `${field} is missing`
      return `${field} ${issue.message}`
    })
    .join('; ')
}
