// decideAccess: who may open which URL, as a scenario table over one rules file; and the portal's
// list of apps, which follows the same decisions.
import { describe, expect, it } from 'vitest'
import { parseAccessRules } from '#lib/platform/access-rules.ts'
import { appsFor, decideAccess, explainDecision, type Member } from '#lib/auth/access.ts'

const rules = parseAccessRules(
  `rules:
  - name: ChirpStack
    host: gateway.local
    path: /chirpstack
    allow: { groups: [admins, lorawan] }
  - host: gateway.local
    path: /chirpstack/api/health
    allow: bypass
  - name: Node-RED
    host: [gateway.local, '127.0.0.1:8080']
    path: /nodered/
    allow: signed_in
  - name: Router
    host: router.gateway.local
    allow: { groups: [admins] }
`,
  'rules.yml',
)

const admin: Member = { username: 'alice', groups: ['admins'] }
const viewer: Member = { username: 'victor', groups: ['viewers'] }
const anonymous = null

const scenarios: [string, Member | null, string, boolean, string][] = [
  ['an admin opens the LNS', admin, 'https://gateway.local/chirpstack/', true, 'in_group'],
  ['the bare prefix is the app too', admin, 'http://gateway.local/chirpstack', true, 'in_group'],
  ['a viewer may not open the LNS', viewer, 'https://gateway.local/chirpstack/devices', false, 'not_in_group'],
  ['nobody signed in: the LNS needs a sign-in', anonymous, 'https://gateway.local/chirpstack/', false, 'not_signed_in'],
  ['the health path is open to everyone', anonymous, 'https://gateway.local/chirpstack/api/health', true, 'bypass'],
  ['…and below it', anonymous, 'https://gateway.local/chirpstack/api/health/db', true, 'bypass'],
  [
    'a longer name is not below the prefix',
    anonymous,
    'https://gateway.local/chirpstack/api/healthz',
    false,
    'not_signed_in',
  ],
  ['prefixes are whole segments', admin, 'https://gateway.local/chirpstackx/', false, 'no_rule'],
  [
    'dot segments are resolved first',
    anonymous,
    'https://gateway.local/chirpstack/api/health/../../x',
    false,
    'not_signed_in',
  ],
  [
    'encoded dots are resolved too',
    anonymous,
    'https://gateway.local/chirpstack/api/health/%2e%2e/%2E%2E/x',
    false,
    'not_signed_in',
  ],
  [
    'an encoded slash is refused',
    anonymous,
    'https://gateway.local/chirpstack/api/health%2f..%2f..%2fx',
    false,
    'ambiguous_path',
  ],
  ['a bad %-escape is refused', admin, 'https://gateway.local/chirpstack/%zz', false, 'ambiguous_path'],
  ['%-escaped letters match their prefix', viewer, 'https://gateway.local/%6eodered/', true, 'signed_in'],
  ['any account opens Node-RED', viewer, 'https://gateway.local/nodered/flows', true, 'signed_in'],
  ['a host listed with its port', viewer, 'http://127.0.0.1:8080/nodered/', true, 'signed_in'],
  ['…but not on another port', viewer, 'http://127.0.0.1:8081/nodered/', false, 'no_rule'],
  ['a host without a port: the default port only', admin, 'https://gateway.local:8443/chirpstack/', false, 'no_rule'],
  ['host names ignore case', admin, 'https://ROUTER.Gateway.Local/', true, 'in_group'],
  ['a sub-domain app for admins only', viewer, 'https://router.gateway.local/', false, 'not_in_group'],
  ['an unlisted host is closed', admin, 'https://evil.example/', false, 'no_rule'],
  ['an unlisted path is closed', admin, 'https://gateway.local/other/', false, 'no_rule'],
  ['a lookalike (IDN) host is another host', admin, 'https://gаteway.local/chirpstack/', false, 'no_rule'],
  ['not http(s): closed', admin, 'ftp://gateway.local/chirpstack/', false, 'no_rule'],
]

describe('decideAccess', () => {
  it.each(scenarios)('%s', (_name, member, url, allowed, reason) => {
    expect(decideAccess(rules, member, new URL(url))).toMatchObject({ allowed, reason })
  })

  it('explains a refusal with the groups the rule wants and its line', () => {
    const decision = decideAccess(rules, viewer, new URL('https://gateway.local/chirpstack/'))
    expect(explainDecision(decision, viewer)).toBe('denied: ChirpStack is only for the groups admins, lorawan (line 2)')
  })
})

describe('the portal (appsFor)', () => {
  it('lists the named apps each account may open, as links', () => {
    expect(appsFor(rules, admin, 'https')).toEqual([
      { name: 'ChirpStack', url: 'https://gateway.local/chirpstack/' },
      { name: 'Node-RED', url: 'https://gateway.local/nodered/' },
      { name: 'Router', url: 'https://router.gateway.local/' },
    ])
    expect(appsFor(rules, viewer, 'http')).toEqual([{ name: 'Node-RED', url: 'http://gateway.local/nodered/' }])
  })
})
