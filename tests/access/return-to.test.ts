// safeReturnTo: sign-in goes back only to an app of this gateway or to the service itself. Every
// trick an open redirect is known for, as a table.
import { describe, expect, it } from 'vitest'
import { parseAccessRules } from '#lib/platform/access-rules.ts'
import { safeReturnTo } from '#lib/auth/return-to.ts'

const rules = parseAccessRules(
  `rules:
  - { host: gateway.local, path: /chirpstack/, allow: signed_in }
  - { host: 'nodered.gateway.local:1880', allow: signed_in }
`,
  'rules.yml',
)
const ownOrigin = 'https://auth.gateway.local'
const check = (raw: unknown) => safeReturnTo(raw, { rules, ownOrigins: [ownOrigin] })

describe('safeReturnTo accepts', () => {
  it.each([
    ['an app URL', 'https://gateway.local/chirpstack/#/devices', 'https://gateway.local/chirpstack/#/devices'],
    ['another path of a protected host', 'http://gateway.local/other?x=1', 'http://gateway.local/other?x=1'],
    ['an app on its listed port', 'http://nodered.gateway.local:1880/', 'http://nodered.gateway.local:1880/'],
    [
      'the service itself, absolute',
      'https://auth.gateway.local/dashboard/alice',
      'https://auth.gateway.local/dashboard/alice',
    ],
    ['a path of the service', '/dashboard/alice?x=1', '/dashboard/alice?x=1'],
    ['upper-case scheme and host', 'HTTPS://GATEWAY.LOCAL/chirpstack/', 'https://gateway.local/chirpstack/'],
  ])('%s', (_name, raw, expected) => {
    expect(check(raw)).toBe(expected)
  })
})

describe('safeReturnTo refuses', () => {
  it.each([
    ['nothing', undefined],
    ['not a string', ['https://gateway.local/']],
    ['an empty string', ''],
    ['another site', 'https://evil.example/'],
    ['a protocol-relative URL', '//evil.example/'],
    ['backslashes', '\\\\evil.example/'],
    ['slash-backslash', '/\\evil.example/'],
    ['a backslash inside an app URL', 'https://gateway.local\\@evil.example/'],
    ['user info', 'https://gateway.local@evil.example/'],
    ['user info on a protected host', 'https://user:pass@gateway.local/chirpstack/'],
    ['javascript:', 'javascript:alert(1)'],
    ['JavaScript: with case and spaces', ' JavaScript:alert(1)'],
    ['an encoded scheme', '%6a%61vascript:alert(1)'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['a tab inside the scheme', 'java\tscript:alert(1)'],
    ['a newline', '/dashboard\n/evil'],
    ['a tab making //', '/\t/evil.example/'],
    ['https: without slashes', 'https:evil.example'],
    ['https: with one slash', 'https:/evil.example'],
    ['three slashes', 'https:///evil.example'],
    ['another port of a protected host', 'https://gateway.local:8443/chirpstack/'],
    ['another port of the service', 'https://auth.gateway.local:8080/'],
    ['an unlisted port of a listed app', 'http://nodered.gateway.local:1881/'],
    ['a punycode lookalike', 'https://xn--gteway-7fg.local/chirpstack/'],
    ['an IDN lookalike', 'https://gаteway.local/chirpstack/'],
    ['a sub-domain of a protected host', 'https://evil.gateway.local/'],
    ['a host that ends like one', 'https://evilgateway.local/'],
    ['the host as a suffix', 'https://gateway.local.evil.example/'],
    ['a relative path', 'dashboard/alice'],
    ['ftp:', 'ftp://gateway.local/'],
    ['a huge value', `/${'a'.repeat(3000)}`],
  ])('%s', (_name, raw) => {
    expect(check(raw)).toBeUndefined()
  })
})
