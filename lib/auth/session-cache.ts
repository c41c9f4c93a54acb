// Validated sessions held in memory (docs/decisions/014-session-cache.md). After a session has been
// read once, later requests for it are answered from here without a query. The model:
// - an entry is what authentication returns (the session and its user without the hash), keyed by
//   the token that was fully verified when it was stored (a session has exactly one token: its jti
//   is the session id), at most `maxEntries`, least recently used first;
// - beside a user's entries, one list per user: the dashboard's live sessions (lib/auth/session-list.ts),
//   kept only while the user has an entry, so there are never more lists than entries;
// - any change to a user's sessions or account drops all of that user's entries and list: in this
//   process right after the write commits, in every process through the trigger's NOTIFY;
// - expiry is not cached: the caller checks it against the request's clock on every hit;
// - the cache is off (every request reads the database) until the listener is up, and is emptied
//   whenever it goes on or off, since notifications may have been missed in between.
// A read that started before a drop is not stored (the epoch moved), so a row read just before a
// revocation committed can never outlive it here.
import { afterCommit } from '../platform/after-commit.ts'
import type { Queryable } from '../platform/database.ts'

/** An entry names its session and the session's user; lib/auth/sessions.ts says what else it holds. */
interface Entry {
  readonly session: { readonly id: string; readonly userId: string }
}

/** A read in progress: storing its result is allowed only if nothing was dropped since it began. */
export type FillTicket = number | undefined

export class SessionCache<CachedSession extends Entry, UserList = unknown> {
  readonly #entries = new Map<string, CachedSession>()
  readonly #byUser = new Map<string, Set<string>>()
  readonly #lists = new Map<string, UserList>()
  #epoch = 0
  #maxEntries = 0

  /** Whether entries are served and stored. */
  get on(): boolean {
    return this.#maxEntries > 0
  }

  get size(): number {
    return this.#entries.size
  }

  /** Serves from now on, empty, holding at most `maxEntries`. */
  switchOn(maxEntries: number): void {
    this.#reset(maxEntries)
  }

  /** Serves nothing until switched on again. */
  switchOff(): void {
    this.#reset(0)
  }

  /** The entry stored under `key`, marked as the most recently used. */
  find(key: string): CachedSession | undefined {
    const entry = this.#entries.get(key)
    if (entry) {
      this.#entries.delete(key)
      this.#entries.set(key, entry)
    }
    return entry
  }

  /** Call before reading a session from the database; pass the ticket to `store`. */
  startFill(): FillTicket {
    return this.on ? this.#epoch : undefined
  }

  /** Keeps `entry` under `key` unless the cache is off or anything was dropped since `ticket` was taken. */
  store(ticket: FillTicket, key: string, entry: CachedSession): void {
    if (ticket === undefined || ticket !== this.#epoch || !this.on) return
    this.#entries.delete(key)
    this.#entries.set(key, Object.freeze(entry))
    const keys = this.#byUser.get(entry.session.userId) ?? new Set()
    this.#byUser.set(entry.session.userId, keys.add(key))
    if (this.#entries.size > this.#maxEntries) this.#drop(this.#entries.keys().next().value as string)
  }

  /** The list stored for this user, if the user still has an entry. */
  findList(userId: string): UserList | undefined {
    return this.#lists.get(userId)
  }

  /** Keeps the user's list, on the terms of `store`, and only while the user has an entry. */
  storeList(ticket: FillTicket, userId: string, list: UserList): void {
    if (ticket === undefined || ticket !== this.#epoch || !this.on || !this.#byUser.has(userId)) return
    this.#lists.set(userId, Object.freeze(list))
  }

  /** Drops every entry of these users; '*' drops all. */
  forgetUsers(userIds: Iterable<string>): void {
    this.#epoch++
    for (const userId of userIds) {
      if (userId === '*') {
        this.#reset(this.#maxEntries)
        return
      }
      for (const key of this.#byUser.get(userId) ?? []) this.#entries.delete(key)
      this.#byUser.delete(userId)
      this.#lists.delete(userId)
    }
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key)
    if (!entry) return
    this.#entries.delete(key)
    const keys = this.#byUser.get(entry.session.userId)
    keys?.delete(key)
    if (keys?.size === 0) {
      this.#byUser.delete(entry.session.userId)
      this.#lists.delete(entry.session.userId)
    }
  }

  #reset(maxEntries: number): void {
    this.#epoch++
    this.#entries.clear()
    this.#byUser.clear()
    this.#lists.clear()
    this.#maxEntries = maxEntries
  }
}

/** After a write to these users' sessions or accounts commits, their entries in `cache` go (others: NOTIFY). */
export function forgetAfterCommit(
  cache: SessionCache<Entry, unknown>,
  db: Queryable,
  userIds: readonly string[],
): void {
  afterCommit(db, () => cache.forgetUsers(userIds))
}
