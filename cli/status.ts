// gateway-auth status: what the dashboard's gateway card says about the LoRaWAN gateway (its EUI,
// the packet forwarder's settings and state, the device's services), for a shell or a script.
// No database: it works when the database does not, which is when it is most wanted. It waits for
// the balena supervisor up to 8 s, as a page does not. Exit 7, with the reason on
// stderr, when the card would say "Needs attention".
import { readLorawan } from '#lib/gateway/lorawan.ts'
import { lorawanJson } from '#lib/gateway/json.ts'
import { lorawanView } from '#lib/gateway/lorawan-view.ts'
import { CliError, EXIT } from './exit-codes.ts'

const LABEL_WIDTH = 18
// a person or a health check runs this: it may wait for the supervisor, even on a busy device
const SUPERVISOR_WAIT = { waitMs: 10_000, timeoutMs: 8_000 }

/** Prints the facts (as aligned lines, or the dashboard's JSON) and sets the exit status. */
export async function statusCommand(options: { json?: boolean }): Promise<void> {
  const facts = await readLorawan(process.env, new Date(), { supervisor: SUPERVISOR_WAIT })
  const view = lorawanView(facts)
  const out = (label: string, value: string) => process.stdout.write(`${label.padEnd(LABEL_WIDTH)}${value}\n`)
  if (options.json) {
    process.stdout.write(`${JSON.stringify(lorawanJson(facts))}\n`)
  } else {
    out('Gateway EUI', view.eui ? `${view.eui} (${view.euiSource})` : `not known: ${view.euiSource}`)
    for (const row of view.rows) out(row.label, row.detail ? `${row.value} (${row.detail})` : row.value)
    if (view.services) {
      view.services.forEach((service, i) => {
        out(
          i === 0 ? 'Services' : '',
          `${service.name}: ${service.state}${service.forwarder ? ' (packet forwarder)' : ''}`,
        )
      })
      if (view.services.length === 0) out('Services', 'none reported')
    } else {
      out('Services', view.servicesLine ?? '')
    }
  }
  // after the facts: stdout stays data, the verdict is the one line on stderr and the exit status
  if (view.problems.length) {
    throw new CliError(EXIT.attention, `needs attention: ${view.problems.map((problem) => problem.text).join(', ')}`)
  }
}
