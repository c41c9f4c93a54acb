// Every page the service shows, in every state worth looking at, reached the way a person would
// (typing into the real forms) on a real service: the one list the screenshots and the browser
// page checks (axe, console, CSP) both walk, so neither can forget a page.
import type { Page } from 'playwright-core'
import { TOTP } from 'otpauth'
import type { Database } from '#lib/platform/database.ts'

export interface TourStop {
  /** File-name-safe name: the screenshot is docs/screenshots/<name>-<viewport>-<scheme>.png. */
  readonly name: string
  /** The HTTP status the page came with. */
  readonly status: number
  /** A stop about one part of the page: the screenshot is of this element only. */
  readonly element?: string
}

/** The stand-in balena Supervisor the service reads (tests/helpers/fake-supervisor.ts), to stop the forwarder. */
export interface TourSupervisor {
  setForwarder(status: 'Running' | 'exited'): void
}

export interface TourOptions {
  readonly baseUrl: string
  readonly db: Database
  /** A registered account, and another one (for the 403). */
  readonly account: { username: string; password: string }
  readonly otherUsername: string
  /** A username locked out by failed sign-ins (LOGIN_MAX_FAILURES reached), for the 429. */
  readonly lockedUsername: string
  /** When given, the gateway card is visited with the packet forwarder running, then stopped. */
  readonly supervisor?: TourSupervisor
  /** Makes every later request find no database (ends the tour: the 503 is the last stop). */
  readonly stopDatabase?: () => Promise<void>
}

/** Walks the pages; yields after each one has loaded, so the caller can look at it. */
export async function* tourPages(page: Page, options: TourOptions): AsyncGenerator<TourStop> {
  const { baseUrl, account } = options
  const status = async (navigation: Promise<{ status(): number } | null>) => (await navigation)?.status() ?? 0
  const submit = async (button: string) => {
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.getByRole('button', { name: button, exact: true }).click(),
    ])
    return response?.status() ?? 0
  }

  yield { name: 'sign-in', status: await status(page.goto(`${baseUrl}/`)) }
  yield { name: 'register', status: await status(page.goto(`${baseUrl}/register`)) }
  await page.locator('#username').fill('new.operator')
  await page.locator('#password').fill('lantern')
  yield { name: 'register-errors', status: await submit('Create account') }

  await page.goto(`${baseUrl}/`)
  await page.locator('#username').fill(account.username)
  await page.locator('#password').fill(`${account.password}-typo`)
  yield { name: 'sign-in-error', status: await submit('Sign in') }
  await page.locator('#password').fill(account.password)
  yield { name: 'dashboard', status: await submit('Sign in') }
  if (options.supervisor) yield* forwarderStops(page, options.supervisor)

  await page.locator('details.change-password summary').click()
  await page.locator('#current_password').fill('not the current one')
  await page.locator('#new_password').fill('short')
  yield { name: 'dashboard-password-errors', status: await submit('Change password') }

  yield* secondFactorStops(page, baseUrl, account, submit)

  yield { name: 'error-403', status: await status(page.goto(`${baseUrl}/dashboard/${options.otherUsername}`)) }
  yield { name: 'error-404', status: await status(page.goto(`${baseUrl}/no/such/page`)) }
  yield { name: 'error-405', status: await status(page.goto(`${baseUrl}/logout`)) }

  await page.goto(`${baseUrl}/login`)
  await page.locator('#username').fill(options.lockedUsername)
  await page.locator('#password').fill('any password at all')
  yield { name: 'error-429', status: await submit('Sign in') }

  // a real internal error: the session lookup's table is briefly gone
  await options.db.none('ALTER TABLE sessions RENAME TO sessions_away')
  try {
    yield { name: 'error-500', status: await status(page.goto(`${baseUrl}/dashboard/${account.username}`)) }
  } finally {
    await options.db.none('ALTER TABLE sessions_away RENAME TO sessions')
  }

  await page.goto(`${baseUrl}/dashboard/${account.username}`)
  yield { name: 'signed-out', status: await submit('Sign out') }

  if (options.stopDatabase) {
    await options.stopDatabase()
    yield { name: 'error-503', status: await status(page.goto(`${baseUrl}/dashboard/${account.username}`)) }
  }
}

/**
 * The authenticator app set up on the security page (the key read from the page, its codes computed
 * here as an app would), then the second step of the next sign-in: a wrong code, then the right one.
 */
async function* secondFactorStops(
  page: Page,
  baseUrl: string,
  account: { username: string; password: string },
  submit: (button: string) => Promise<number>,
): AsyncGenerator<TourStop> {
  yield { name: 'security', status: (await page.goto(`${baseUrl}/security`))?.status() ?? 0 }
  yield { name: 'security-enrol', status: await submit('Set up an authenticator app') }
  const secret = (await page.locator('#totp-key').innerText()).replace(/\s/g, '')
  const code = (offset: number) => new TOTP({ secret }).generate({ timestamp: Date.now() + offset })
  await page.locator('#code').fill(code(0))
  await page.locator('#current_password').fill(account.password)
  yield { name: 'security-recovery-codes', status: await submit('Turn on') }
  await submit('Sign out')
  await page.locator('#username').fill(account.username)
  await page.locator('#password').fill(account.password)
  yield { name: 'second-factor', status: await submit('Sign in') }
  await page.locator('#code').fill('000000')
  yield { name: 'second-factor-error', status: await submit('Sign in') }
  // the next step's code: the one shown now may be the one the setup used
  await page.locator('#code').fill(code(30_000))
  await submit('Sign in')
}

// The card's readings are cached for a few seconds: reload until the stopped forwarder shows.
async function* forwarderStops(page: Page, supervisor: TourSupervisor): AsyncGenerator<TourStop> {
  const card = '.card.gateway'
  yield { name: 'gateway-forwarder-running', status: 200, element: card }
  supervisor.setForwarder('exited')
  let status = 0
  for (let attempt = 0; attempt < 30; attempt++) {
    status = (await page.reload())?.status() ?? 0
    if (await page.getByText('Needs attention: the packet forwarder is not running').count()) break
    await page.waitForTimeout(1000)
  }
  yield { name: 'gateway-forwarder-stopped', status, element: card }
  supervisor.setForwarder('Running')
}

export interface TourNames {
  readonly account: string
  readonly other: string
  readonly locked: string
}
const DEFAULT_NAMES: TourNames = { account: 'operator', other: 'field-tech', locked: 'night-shift' }

/**
 * The accounts the tour needs, made over the JSON API of the service at `baseUrl`: the account
 * (signed in once already, so the dashboard has a sign-in before this one and a second session),
 * another account, and one locked out by `maxFailures` wrong passwords.
 */
export async function prepareTour(baseUrl: string, maxFailures: number, names: TourNames = DEFAULT_NAMES) {
  const post = (path: string, body: object) =>
    fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  const password = 'harbor lantern quartz meadow'
  for (const username of Object.values(names)) {
    const reply = await post('/register', { username, password })
    if (reply.status !== 201) throw new Error(`registering ${username}: ${reply.status} ${await reply.text()}`)
  }
  const signedIn = await post('/login', { username: names.account, password })
  if (signedIn.status !== 200) throw new Error(`signing in ${names.account}: ${signedIn.status}`)
  for (let i = 0; i < maxFailures; i++) await post('/login', { username: names.locked, password: 'not it at all' })
  return { account: { username: names.account, password }, otherUsername: names.other, lockedUsername: names.locked }
}
