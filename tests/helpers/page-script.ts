// The pages' one script: templates/static/app.js, loaded from /static (CSP script-src 'self'),
// optional (every page works without it). Checks of "nothing inline" remove exactly this tag.
import { readFileSync } from 'node:fs'
import { STATIC_DIR } from '#lib/http/render.ts'

export const OWN_SCRIPT_TAG = /<script type="module" src="\/static\/app\.js\?v=[0-9a-f]{12}"><\/script>/g

/** The page without its one allowed script tag; fails if the tag is not there exactly once. */
export function withoutOwnScript(html: string): string {
  const found = html.match(OWN_SCRIPT_TAG)?.length ?? 0
  if (found !== 1) throw new Error(`expected the page script tag once, found it ${found} times`)
  return html.replace(OWN_SCRIPT_TAG, '')
}

export const ownScriptSource = () => readFileSync(`${STATIC_DIR}/app.js`, 'utf8')
