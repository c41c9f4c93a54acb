// What a username may be, and the one form in which it is compared. Apart from the input schemas
// (validation.ts, which loads zod and the common-password list) so that the throttle and the user
// lookups, which load before the port opens, need neither (issue 19: start and footprint).
export const USERNAME_PATTERN = /^[A-Za-z0-9._-]{3,32}$/

/**
 * The one form of a username that is counted by the throttle, looked up in the database and
 * compared: its ASCII lower case, or null for a name that cannot exist under USERNAME_PATTERN.
 * Names are ASCII by rule, so nothing here depends on Unicode case folding, where JavaScript and
 * PostgreSQL disagree ('İ'.toLowerCase() is "i̇", PostgreSQL's lower('İ') is "i"; K, ſ, ı, fullwidth
 * letters and combining marks differ too): such a name is refused before it is counted or looked up.
 */
export function usernameKey(username: string): string | null {
  return USERNAME_PATTERN.test(username) ? username.toLowerCase() : null
}
