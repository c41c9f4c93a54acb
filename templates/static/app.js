// Optional comfort for the pages, loaded from /static under the strict CSP (no inline code):
// a show/hide button on password fields, a copy button beside the Gateway EUI, times in the
// reader's own time zone, and a live countdown to the end of the session. Every page works the
// same without it. A module: strict, deferred, and nothing leaks into the page's globals.

for (const input of document.querySelectorAll('input[type="password"]')) {
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'reveal'
  button.textContent = 'Show'
  button.setAttribute('aria-controls', input.id)
  button.setAttribute('aria-pressed', 'false')
  button.setAttribute('aria-label', `Show ${(input.labels?.[0]?.textContent ?? 'password').toLowerCase()}`)
  button.addEventListener('click', () => {
    const shown = input.type === 'password'
    input.type = shown ? 'text' : 'password'
    button.textContent = shown ? 'Hide' : 'Show'
    button.setAttribute('aria-pressed', String(shown))
    input.focus()
  })
  const wrap = document.createElement('div')
  wrap.className = 'reveal-wrap'
  input.replaceWith(wrap)
  wrap.append(input, button)
}

// a password must never be left readable in the page the browser keeps after submitting
for (const form of document.querySelectorAll('form')) {
  form.addEventListener('submit', () => {
    for (const input of form.querySelectorAll('.reveal-wrap input')) input.type = 'password'
  })
}

// data-copy: a button that copies the element's text. Without it the text is still selectable (and
// selects whole on a click). The Clipboard API is off: the Permissions-Policy (lib/http/route.ts,
// Middy's defaults) denies clipboard-write, and a gateway's page is often plain HTTP, where it does
// not exist. Selecting the text and execCommand('copy') works in both cases, inside the click.
for (const source of document.querySelectorAll('[data-copy]')) {
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'secondary copy'
  button.textContent = 'Copy'
  button.setAttribute('aria-label', `Copy ${source.textContent}`)
  button.addEventListener('click', () => {
    getSelection().selectAllChildren(source)
    // the selection stays, so a refused copy can still be finished with Ctrl+C
    button.textContent = document.execCommand('copy') ? 'Copied' : 'Selected: press Ctrl+C'
    setTimeout(() => {
      button.textContent = 'Copy'
    }, 2000)
  })
  source.after(button)
}

// data-local="time": the time of day to the second (when to retry); otherwise date and time
const formats = {
  time: new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' }),
  date: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
}
for (const time of document.querySelectorAll('time[data-local]')) {
  const date = new Date(time.dateTime)
  if (!Number.isNaN(date.getTime())) {
    time.title = time.textContent
    time.textContent = (formats[time.dataset.local] ?? formats.date).format(date)
  }
}

const countdowns = [...document.querySelectorAll('[data-countdown]')]
function tick() {
  for (const element of countdowns) {
    // whole seconds still left, never more than there are
    const seconds = Math.floor((Date.parse(element.dataset.countdown) - Date.now()) / 1000)
    element.textContent = seconds > 0 ? `in ${remaining(seconds)}` : 'ended: reload to sign in again'
  }
}
function remaining(seconds) {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  if (h) return `${h} h ${m} min`
  return m ? `${m} min ${String(s).padStart(2, '0')} s` : `${s} s`
}
if (countdowns.length) {
  tick()
  setInterval(tick, 1000)
}
