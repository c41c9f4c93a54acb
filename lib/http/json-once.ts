// A JSON body serialised once for as long as what it is made of stays the same objects. A route whose
// inputs come from the process's caches (the session cache, the gateway's facts, the portal's lists)
// then hands the same string to every request that asks again: a dashboard polled by its page, or
// by a program, is built and serialised only when something in it changed (issue 19).
// Identity, not equality: every cache replaces an object when its content changes (a write drops the
// session cache's entries, the gateway's facts are read anew), so a new object is a new body and
// nothing is compared field by field. With the caches off every input is new: nothing is reused.

interface Serialised {
  readonly inputs: readonly unknown[]
  readonly body: string
}

/**
 * A memo of one route's bodies, one per `owner` (a session), the `maxBodies` most recently asked
 * for: a few KB each, so a gateway's handful of open dashboards fit and a thousand cached sessions
 * do not hold a thousand bodies. `body(owner, inputs, build)` is `JSON.stringify(build())`, built
 * again only when an input is not the object it was the last time for this owner.
 */
export function jsonOnce(maxBodies = 64) {
  // a Map keeps its insertion order: the first key is the least recently asked for
  const bodies = new Map<object, Serialised>()
  return (owner: object, inputs: readonly unknown[], build: () => unknown): string => {
    const last = bodies.get(owner)
    bodies.delete(owner)
    const same = last && last.inputs.length === inputs.length && last.inputs.every((input, i) => input === inputs[i])
    const body = same ? last.body : JSON.stringify(build())
    bodies.set(owner, same ? last : { inputs, body })
    if (bodies.size > maxBodies) bodies.delete(bodies.keys().next().value!)
    return body
  }
}
