// Request bodies, as the contract takes them: JSON or an HTML form, at most 16 KiB, an object at the
// top with one value per field. The media type is read once (requestContext sets event.mediaType);
// Middy's own parsers do the parsing, declared in the chain between the two steps of this file.
import type { MiddlewareObj } from '@middy/core'
import type { Context } from 'aws-lambda'
import type { RouteEvent, RouteResult } from './event.ts'
import { Problem, invalidFields } from '../problem.ts'

export const MAX_BODY_BYTES = 16 * 1024
export const JSON_MEDIA_TYPE = 'application/json'
export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded'

// application/json and its +json relatives (RFC 6839) are JSON; parameters and spacing vary
// ("application/json ; charset=utf-8" is valid per RFC 9110), so the essence is compared
const JSON_ESSENCE = /^application\/(?:[\w.+-]+\+)?json$/

/** The request's media type, reduced to the two the service parses (else the bare essence). */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined
  const essence = contentType.split(';', 1)[0]!.trim().toLowerCase()
  if (!essence) return undefined
  return JSON_ESSENCE.test(essence) ? JSON_MEDIA_TYPE : essence
}

type BodyMiddleware = MiddlewareObj<RouteEvent, RouteResult, Error, Context>

/**
 * Before the parsers: 413 over the limit, 415 for a compressed body or one that is neither JSON
 * nor a form. The Content-Type header is rewritten to the media type found, so the parser for it
 * recognises it and the other one steps aside; an empty JSON body is the empty object.
 */
export function admitBody(): BodyMiddleware {
  return {
    before: (request) => {
      const event = request.event
      const raw = typeof event.body === 'string' ? event.body : ''
      const declared = Number(event.headers['content-length'] ?? 0)
      const size = Buffer.byteLength(raw, event.isBase64Encoded ? 'base64' : 'utf8')
      if (declared > MAX_BODY_BYTES || size > MAX_BODY_BYTES) {
        throw new Problem('payload_too_large', { detail: `The body may be at most ${MAX_BODY_BYTES} bytes.` })
      }
      if (raw === '') {
        // nothing to parse: the parsers see no body type and leave it to requireObjectBody
        delete event.headers['content-type']
        event.body = undefined
        return
      }
      // nothing is decompressed (so no zip bomb), and a compressed body must not be read as plain
      const codings = (event.headers['content-encoding'] ?? '').split(',').map((coding) => coding.trim().toLowerCase())
      if (codings.some((coding) => coding !== '' && coding !== 'identity')) {
        throw new Problem('unsupported_media_type', {
          detail: 'Send the body uncompressed, without Content-Encoding.',
          headers: { 'accept-encoding': 'identity' }, // RFC 9110 §15.5.16
        })
      }
      if (event.mediaType !== JSON_MEDIA_TYPE && event.mediaType !== FORM_MEDIA_TYPE) {
        throw new Problem('unsupported_media_type', {
          detail: 'Send application/json or application/x-www-form-urlencoded.',
        })
      }
      event.headers['content-type'] = event.mediaType
    },
  }
}

/** After the parsers: an object at the top (an absent body is an empty one), one value per field. */
export function requireObjectBody(): BodyMiddleware {
  return {
    before: (request) => {
      const event = request.event
      event.body ??= {}
      const body = event.body
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new Problem('validation_failed', { detail: 'The request body must be a JSON object.' })
      }
      // only the form parser turns a repeated field into an array; in JSON an array is a type error for the schema
      const repeated =
        event.mediaType === FORM_MEDIA_TYPE ? Object.entries(body).filter(([, value]) => Array.isArray(value)) : []
      if (repeated.length) {
        throw invalidFields(repeated.map(([field]) => ({ field, message: 'This field was sent more than once.' })))
      }
    },
  }
}
