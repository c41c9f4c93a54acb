// A real Chromium (Debian's) driven by playwright-core, for tests of what a browser does with the
// pages: forms, cookies, redirects, CSP, accessibility. No downloads: playwright-core ships no browser.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** The browser tests run only where Debian's Chromium is installed (global-setup says so once when not). */
export const HAS_CHROMIUM = existsSync(CHROMIUM)

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-gpu',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  })
}

export interface PageWatch {
  /** Console messages that report a Content-Security-Policy violation. */
  readonly cspViolations: string[]
  /** Uncaught exceptions in page script. */
  readonly pageErrors: string[]
  /** Every console error, with the URL it came from. */
  readonly consoleErrors: { text: string; url: string }[]
}

/** Starts collecting what a page complains about. */
export function watchPage(page: Page): PageWatch {
  const watch: PageWatch = { cspViolations: [], pageErrors: [], consoleErrors: [] }
  page.on('console', (message) => {
    if (/Content[ -]Security[ -]Policy/i.test(message.text())) watch.cspViolations.push(message.text())
    if (message.type() === 'error') watch.consoleErrors.push({ text: message.text(), url: message.location().url })
  })
  page.on('pageerror', (error) => watch.pageErrors.push(error.message))
  return watch
}

// pinned in package.json; injected from node_modules, never fetched
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  targets: string[]
}

/**
 * axe-core's violations of serious or critical impact on the page as it is now. Injected through
 * the DevTools protocol, which the page's CSP does not govern, so the page keeps its real policy.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE)
  const violations = await page.evaluate(async () => {
    type Axe = { run(context: unknown, options: object): Promise<{ violations: any[] }> }
    const page = globalThis as unknown as { axe: Axe; document: unknown }
    const result = await page.axe.run(page.document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({
      id: v.id as string,
      impact: v.impact as string | null,
      help: v.help as string,
      targets: (v.nodes as { target: string[] }[]).map((n) => n.target.join(' ')),
    }))
  })
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}
