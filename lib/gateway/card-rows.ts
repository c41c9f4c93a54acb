// A row of a dashboard card's fact list (<dl class="facts">): a label, a value, an optional detail
// line and a state the template marks in words and colour. Shared by the gateway card's views.

export type RowState = 'ok' | 'warn' | 'bad'
export interface GatewayRow {
  readonly label: string
  readonly value: string
  readonly detail?: string
  readonly state?: RowState
}
