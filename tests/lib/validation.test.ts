import { beforeAll, describe, expect, it } from 'vitest'
import {
  loginInput,
  newPassword,
  parseInput,
  passwordChangeInput,
  containsUsername,
  PASSWORD_MAX_BYTES,
  registrationInput,
  Username,
  usernameKey,
} from '#lib/auth/validation.ts'
import { commonPasswordCount, isCommonPassword, loadCommonPasswords } from '#lib/auth/common-passwords.ts'
import { Problem } from '#lib/problem.ts'

// every path that parses input loads the list first (lib/http/validate-input.ts); so do these tests
beforeAll(() => loadCommonPasswords())

const ok = (schema: { safeParse(v: unknown): { success: boolean } }, value: unknown) => schema.safeParse(value).success
const messages = (
  schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } },
  value: unknown,
) => schema.safeParse(value).error?.issues.map((issue) => issue.message) ?? []

describe('Username', () => {
  it.each(['abc', 'a'.repeat(32), 'Alice', 'a.b_c-d', '123', 'A-Z.az_09'])('accepts %s', (name) => {
    expect(ok(Username, name)).toBe(true)
  })
  it.each(['ab', 'a'.repeat(33), 'with space', 'josé', 'a/b', 'a@b', '<script>', 'abc\n', '', 'ａｂｃ'])(
    'refuses %j',
    (name) => {
      expect(ok(Username, name)).toBe(false)
    },
  )
  it.each([[42], [null], [['abc']], [{ name: 'abc' }]])(
    'refuses the non-string %j, saying first that it must be text',
    (value) => {
      expect(messages(Username, value)[0]).toBe('Username must be text.')
    },
  )
  it('says a missing username is required', () => {
    expect(messages(Username, undefined)).toEqual(['Username is required.'])
  })
})

describe('newPassword', () => {
  const schema = newPassword('Password', 15)

  it('counts code points, not UTF-16 units: 15 emoji pass, 14 do not', () => {
    expect('🔑'.repeat(14).length).toBe(28)
    expect(ok(schema, '🔑'.repeat(15))).toBe(true)
    expect(messages(schema, '🔑'.repeat(14))).toEqual(['Password must be at least 15 characters.'])
  })

  it('accepts 15 ASCII characters and refuses 14', () => {
    expect(ok(schema, 'harbor lantern!')).toBe(true)
    expect(ok(schema, 'harbor lantern')).toBe(false)
  })

  it('counts a decomposed accent as two code points', () => {
    expect(ok(schema, `${'e\u0301'.repeat(7)}x`)).toBe(true) // 15 code points, 7 visible accents
    expect(ok(schema, 'e\u0301'.repeat(7))).toBe(false) // 14 code points
  })

  it.each([
    ['72 ASCII bytes', 'a'.repeat(72), true],
    ['73 ASCII bytes', 'a'.repeat(73), false],
    ['24 three-byte euro signs (72 bytes)', '€'.repeat(24), true],
    ['24 euro signs and one letter (73 bytes)', `${'€'.repeat(24)}a`, false],
    ['18 four-byte emoji (72 bytes)', '🔑'.repeat(18), true],
    ['18 emoji and one letter (73 bytes)', `${'🔑'.repeat(18)}a`, false],
    ['36 two-byte letters (72 bytes)', 'é'.repeat(36), true],
    ['37 two-byte letters (74 bytes, only 37 characters)', 'é'.repeat(37), false],
  ])('at the 72-byte limit: %s → accepted %s', (_, password, accepted) => {
    expect(Buffer.byteLength(password) <= PASSWORD_MAX_BYTES).toBe(accepted)
    expect(ok(schema, password)).toBe(accepted)
    if (!accepted) expect(messages(schema, password).join(' ')).toMatch(/72 bytes/)
  })

  it('refuses a common password in any letter case, with the reason', () => {
    expect(messages(schema, 'passwordpassword')).toEqual([
      'Password is one of the most commonly used passwords; choose another.',
    ])
    expect(ok(schema, 'PassWordPassWord')).toBe(false)
  })

  it('honours another minimum length', () => {
    expect(ok(newPassword('Password', 8), 'zq7#kv2m')).toBe(true)
    expect(messages(newPassword('Password', 8), 'zq7#kv2')).toEqual(['Password must be at least 8 characters.'])
  })
})

describe('the common-password list', () => {
  it('holds at least 10,000 passwords', async () => {
    expect(await commonPasswordCount()).toBeGreaterThanOrEqual(10_000)
  })
  it.each(['password', 'PASSWORD', '123456', 'qwertyuiop12345'])('knows %s', (password) => {
    expect(isCommonPassword(password)).toBe(true)
  })
  it('does not flag a random passphrase', () => {
    expect(isCommonPassword('harbor lantern 9f2c quartz')).toBe(false)
  })
})

describe('registrationInput', () => {
  const schema = registrationInput(15)

  it('keeps only username and password, dropping extra fields', () => {
    const parsed = schema.parse({ username: 'alice', password: 'harbor lantern quartz', role: 'admin', is_admin: true })
    expect(parsed).toEqual({ username: 'alice', password: 'harbor lantern quartz' })
  })

  it.each([
    ['as is', 'my alice-01 passphrase'],
    ['in capitals', 'my ALICE-01 passphrase'],
    ['as the whole password', 'alice-01'.repeat(2)],
  ])('refuses a password containing the username %s, on the password field', (_, password) => {
    const result = schema.safeParse({ username: 'Alice-01', password })
    expect(result.success).toBe(false)
    expect(result.error!.issues.some((i) => i.path[0] === 'password' && /username/.test(i.message))).toBe(true)
  })

  it.each([
    ['empty', ''],
    ['too short, and inside the password', 'ha'],
  ])('blames only the username when it is %s, not the password', (_, username) => {
    const result = schema.safeParse({ username, password: 'harbor lantern quartz meadow' })
    const fields = result.error!.issues.map((i) => i.path[0])
    expect(fields).toContain('username')
    expect(fields).not.toContain('password')
  })
})

describe('loginInput', () => {
  it('applies the registration rules to the name: one no account can have is refused on username', () => {
    for (const username of [
      'not a valid name!',
      'al\u0130ce',
      'al\u0131ce',
      '\u212aate',
      'ro\u017fa',
      'ａｌｉｃｅ',
      'ali\u0307ce',
      'ab',
    ]) {
      const result = loginInput.safeParse({ username, password: 'x' })
      expect(new Set(result.error?.issues.map((issue) => issue.path[0])), username).toEqual(new Set(['username']))
    }
  })
  it.each([
    ['an empty password', { username: 'abc', password: '' }],
    ['a 73-byte password', { username: 'abc', password: `${'é'.repeat(36)}a` }],
    ['a 33-character username', { username: 'a'.repeat(33), password: 'x' }],
    ['an empty username', { username: '', password: 'x' }],
  ])('refuses %s', (_, input) => {
    expect(ok(loginInput, input)).toBe(false)
  })
  it('says an empty username is required', () => {
    expect(messages(loginInput, { username: '', password: 'x' })).toEqual(['Username is required.'])
  })
  it('accepts a password of exactly 72 bytes', () => {
    expect(ok(loginInput, { username: 'abc', password: '€'.repeat(24) })).toBe(true)
  })
})

describe('usernameKey', () => {
  it('is the ASCII lower case of a valid name: every letter case of a name is one key', () => {
    expect(usernameKey('Alice.K-S_9')).toBe('alice.k-s_9')
    expect(usernameKey('ALICE')).toBe(usernameKey('alice'))
  })
  it('is null for a name that cannot exist, whatever Unicode would fold it to', () => {
    // JavaScript and PostgreSQL fold these differently, so neither fold may decide the account
    for (const name of [
      'al\u0130ce',
      'al\u0131ce',
      '\u212aate',
      'ro\u017fa',
      'ａｌｉｃｅ',
      'ali\u0307ce',
      'e\u0301te',
      'ab',
      '',
    ]) {
      expect(usernameKey(name), JSON.stringify(name)).toBeNull()
    }
  })
})

describe('passwordChangeInput', () => {
  it('finds the username in a new password in any letter case (POST /password refuses it on new_password)', () => {
    expect(containsUsername('bob-42 lantern quartz', 'Bob-42')).toBe(true)
    expect(containsUsername('harbor lantern quartz', 'Bob-42')).toBe(false)
  })
  it('does not apply the new-password rules to the current password', () => {
    expect(ok(passwordChangeInput(15), { current_password: 'short', new_password: 'harbor lantern quartz' })).toBe(true)
  })
})

describe('parseInput', () => {
  it('returns the parsed value', () => {
    expect(parseInput(loginInput, { username: 'abc', password: 'b', extra: 1 })).toEqual({
      username: 'abc',
      password: 'b',
    })
  })

  it('throws validation_failed listing every bad field once, with its first message', () => {
    let thrown: unknown
    try {
      parseInput(registrationInput(15), { username: 'a b', password: 'x' })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(Problem)
    const problem = thrown as Problem
    expect(problem.code).toBe('validation_failed')
    expect(problem.status).toBe(400)
    expect(problem.extra.errors).toEqual([
      { field: 'username', message: 'Username may only contain letters A–Z, digits, “.”, “_” and “-”.' },
      { field: 'password', message: 'Password must be at least 15 characters.' },
    ])
  })

  it('names the body when it is not an object', () => {
    expect(() => parseInput(loginInput, 'text')).toThrow(Problem)
    try {
      parseInput(loginInput, null)
    } catch (error) {
      expect((error as Problem).extra.errors).toEqual([{ field: 'body', message: expect.any(String) }])
    }
  })
})
