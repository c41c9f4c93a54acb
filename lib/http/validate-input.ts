// The body, checked against the route's own schema (its spec's `input`, the schema the OpenAPI
// document shows): 400 validation_failed listing each bad field, or event.input set to the parsed value.
import type { MiddlewareObj } from '@middy/core'
import type { Context } from 'aws-lambda'
import type { RouteEvent, RouteResult } from './event.ts'
import { inputSchema, type RouteSpec } from './route-spec.ts'
import { contextOf } from './request-context.ts'
import { parseInput } from '../auth/validation.ts'
import { loadCommonPasswords } from '../auth/common-passwords.ts'

/** Middy step: parses event.body with the spec's schema into event.input (nothing without a schema). */
export function validateInput(spec: RouteSpec): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  return {
    before: async (request) => {
      const event = request.event
      const rules = { passwordMinLength: contextOf(event).config.password.minLength }
      const schema = inputSchema(spec, rules)
      if (!schema) return
      // a new password is checked against it; loaded at the first body parsed, not at start
      await loadCommonPasswords()
      event.input = parseInput(schema, event.body)
    },
  }
}
