// The rules file (ACCESS_RULES): what a good one turns into, and how a bad one is refused: one
// line per problem, each naming the file and line, before the service starts.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { AccessRulesError, loadAccessRules, NO_RULES, parseAccessRules } from '#lib/platform/access-rules.ts'

const GOOD = `# the gateway's apps
rules:
  - name: ChirpStack
    host: gateway.local
    path: /chirpstack/
    allow: { groups: [admins] }
  - host: [gateway.local, '192.168.1.20:8443']
    path: /chirpstack/api/health
    allow: bypass
  - name: Node-RED
    host: NODERED.gateway.local
    allow: signed_in
    link: https://nodered.gateway.local/admin/
`

const problems = (text: string) => {
  try {
    parseAccessRules(text, 'rules.yml')
  } catch (error) {
    expect(error).toBeInstanceOf(AccessRulesError)
    return (error as Error).message.split('\n')
  }
  throw new Error('the file was accepted')
}

describe('the access rules file', () => {
  it('reads YAML into rules with their lines: hosts lower case, ports kept, prefixes without a final slash', () => {
    const { rules } = parseAccessRules(GOOD, 'rules.yml')
    expect(rules).toEqual([
      {
        name: 'ChirpStack',
        hosts: [{ hostname: 'gateway.local', port: undefined }],
        path: '/chirpstack',
        allow: { groups: ['admins'] },
        link: undefined,
        line: 3,
      },
      {
        name: undefined,
        hosts: [
          { hostname: 'gateway.local', port: undefined },
          { hostname: '192.168.1.20', port: 8443 },
        ],
        path: '/chirpstack/api/health',
        allow: 'bypass',
        link: undefined,
        line: 7,
      },
      {
        name: 'Node-RED',
        hosts: [{ hostname: 'nodered.gateway.local', port: undefined }],
        path: '/',
        allow: 'signed_in',
        link: 'https://nodered.gateway.local/admin/',
        line: 10,
      },
    ])
  })

  it('reads JSON as well (JSON is YAML)', () => {
    const json = JSON.stringify({ rules: [{ host: 'a.local', path: '/x', allow: 'signed_in' }] })
    expect(parseAccessRules(json, 'rules.json').rules).toMatchObject([{ path: '/x', allow: 'signed_in' }])
  })

  it.each([
    ['a YAML syntax error', 'rules:\n  - host: a\n    allow: [bypass\n', /^rules\.yml line \d: /],
    ['a duplicated key', 'rules:\n  - host: a\n    host: b\n    allow: bypass\n', /^rules\.yml line 3: .*unique/i],
    ['an unknown allow', 'rules:\n  - host: a\n    allow: everyone\n', /^rules\.yml line 3: rules\[0\]\.allow /],
    ['a missing host', 'rules:\n  - path: /x\n    allow: bypass\n', /^rules\.yml line 2: rules\[0\]\.host /],
    ['a host with a path', 'rules:\n  - host: a.local/x\n    allow: bypass\n', /line 2: .*not a host name/],
    ['a relative path', 'rules:\n  - host: a\n    path: x/\n    allow: bypass\n', /line 3: .*must start with \//],
    ['a dot segment', 'rules:\n  - host: a\n    path: /x/../y\n    allow: bypass\n', /line 3: .*\.\./],
    ['an upper-case group', 'rules:\n  - host: a\n    allow: { groups: [Admins] }\n', /line 3: .*group name/],
    ['an empty group list', 'rules:\n  - host: a\n    allow: { groups: [] }\n', /line 3: rules\[0\]\.allow/],
    ['an unknown key', 'rules:\n  - host: a\n    alow: bypass\n    allow: bypass\n', /line 2: .*alow/],
    ['a javascript: link', 'rules:\n  - host: a\n    allow: bypass\n    link: javascript:alert(1)\n', /line 4:/],
    ['no rules key', 'apps: []\n', /^rules\.yml line 1: /],
  ])('refuses %s, naming the line', (_name, text, message) => {
    expect(problems(text)[0]).toMatch(message)
  })

  it('lists every problem, one line each', () => {
    const lines = problems('rules:\n  - host: a\n    allow: nobody\n  - host: ""\n    allow: bypass\n')
    expect(lines).toEqual([
      expect.stringMatching(/^rules\.yml line 3: /),
      expect.stringMatching(/^rules\.yml line 4: /),
    ])
  })

  it('unset: no rules (everything closed); a missing file: an error naming the variable', async () => {
    expect(await loadAccessRules(undefined)).toBe(NO_RULES)
    const dir = await mkdtemp(path.join(tmpdir(), 'rules-'))
    await expect(loadAccessRules(path.join(dir, 'none.yml'))).rejects.toThrow(/^ACCESS_RULES: cannot read .*ENOENT/)
    await writeFile(path.join(dir, 'rules.yml'), GOOD)
    expect((await loadAccessRules(path.join(dir, 'rules.yml'))).rules).toHaveLength(3)
    // inline JSON, for a balena variable
    const inline = JSON.stringify({ rules: [{ host: 'gateway.local', allow: 'signed_in' }] })
    expect((await loadAccessRules(inline)).rules).toMatchObject([{ allow: 'signed_in' }])
    await expect(loadAccessRules('{"rules": [{"host": "a"}]}')).rejects.toThrow(
      /^ACCESS_RULES line 1: rules\[0\]\.allow/,
    )
  })
})
