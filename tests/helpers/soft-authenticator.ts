// A software authenticator for the handler tests: it answers WebAuthn options the way a browser and
// an authenticator together would (ES256, "none" attestation), with the origin and RP ID a test
// chooses, so the server's checks (challenge, origin, RP ID, signature, counter) can be provoked
// without a browser. The browser tests use Chromium's own virtual authenticator instead.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { isoCBOR } from '@simplewebauthn/server/helpers'

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest()
const UP = 0x01
const UV = 0x04
const AT = 0x40

export interface SoftCredential {
  readonly id: string
  readonly rpId: string
  readonly privateKey: KeyObject
  counter: number
}

interface Ceremony {
  /** The page's origin the browser would put in clientDataJSON. */
  origin: string
  /** The RP ID the authenticator signs for (default: the options'). */
  rpId?: string
}

function counterBytes(counter: number) {
  const bytes = Buffer.alloc(4)
  bytes.writeUInt32BE(counter)
  return bytes
}

function cosePublicKey(privateKey: KeyObject): Uint8Array {
  const jwk = privateKey.export({ format: 'jwk' })
  const x = Buffer.from(jwk.x!, 'base64url')
  const y = Buffer.from(jwk.y!, 'base64url')
  // kty EC2, alg ES256, crv P-256
  return isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, x],
      [-3, y],
    ]),
  )
}

const clientData = (type: string, challenge: string, origin: string) =>
  Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }))

/** navigator.credentials.create(): a new credential and the answer to send. */
export function createCredential(options: { challenge: string; rp: { id?: string } }, ceremony: Ceremony) {
  const rpId = ceremony.rpId ?? options.rp.id!
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const id = randomBytes(16)
  const idLength = Buffer.alloc(2)
  idLength.writeUInt16BE(id.length)
  const authData = Buffer.concat([
    sha256(rpId),
    Buffer.from([UP | UV | AT]),
    counterBytes(0),
    Buffer.alloc(16), // AAGUID: none
    idLength,
    id,
    cosePublicKey(privateKey),
  ])
  const attestationObject = isoCBOR.encode(
    new Map<string, unknown>([
      ['fmt', 'none'],
      ['attStmt', new Map()],
      ['authData', new Uint8Array(authData)],
    ]) as never,
  )
  const credential: SoftCredential = { id: b64url(id), rpId, privateKey, counter: 0 }
  const answer = {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key',
    response: {
      clientDataJSON: b64url(clientData('webauthn.create', options.challenge, ceremony.origin)),
      attestationObject: b64url(attestationObject),
      transports: ['internal'],
    },
    clientExtensionResults: {},
  }
  return { credential, answer }
}

/** navigator.credentials.get(): the credential's signed answer; `counter` (default: one more) is what it reports. */
export function getAssertion(
  credential: SoftCredential,
  options: { challenge: string },
  ceremony: Ceremony & { counter?: number },
) {
  credential.counter = ceremony.counter ?? credential.counter + 1
  const authData = Buffer.concat([
    sha256(ceremony.rpId ?? credential.rpId),
    Buffer.from([UP | UV]),
    counterBytes(credential.counter),
  ])
  const clientDataJSON = clientData('webauthn.get', options.challenge, ceremony.origin)
  const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey)
  return {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key',
    response: {
      clientDataJSON: b64url(clientDataJSON),
      authenticatorData: b64url(authData),
      signature: b64url(signature),
    },
    clientExtensionResults: {},
  }
}
