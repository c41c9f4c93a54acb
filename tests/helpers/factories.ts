// Test data: unique names so test files can share one database, and passwords that pass the rules.
import { randomBytes } from 'node:crypto'

export const uniqueUsername = (prefix = 'user') => `${prefix}-${randomBytes(5).toString('hex')}`
export const strongPassword = () => `harbor lantern ${randomBytes(6).toString('hex')} quartz`
