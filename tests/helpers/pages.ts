// Reading the service's pages the way the tests need: a form field's value, a time on the
// dashboard, and what nunjucks' escaping makes of a text.

/** The (still HTML-escaped) value attribute of an <input>: undefined without one, null without the input. */
export function inputValue(html: string, name: string): string | undefined | null {
  const tag = new RegExp(`<input[^>]*\\bname="${name}"[^>]*>`).exec(html)?.[0]
  if (!tag) return null
  return /\bvalue="([^"]*)"/.exec(tag)?.[1]
}

/** What the HTML escaping of nunjucks (autoescape) makes of a text. */
export const htmlEscaped = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')

/** The datetime attribute of the <time> following a label on the dashboard. */
export function timeAfter(html: string, label: string): string | undefined {
  return new RegExp(`${label}[\\s\\S]*?<time datetime="([^"]+)"`).exec(html)?.[1]
}
