// The passkey step of a page (form[data-passkey]): hands the server's options to the browser's
// authenticator through @simplewebauthn/browser (/static/webauthn.js, loaded before this module),
// puts the answer into the form's `response` field and sends the form. Without JavaScript, or in a
// browser without WebAuthn, the form stays as it is rendered: its button hidden, its note saying why.

const { browserSupportsWebAuthn, startAuthentication, startRegistration } = globalThis.SimpleWebAuthnBrowser ?? {}

for (const form of document.querySelectorAll('form[data-passkey]')) {
  const status = form.querySelector('[data-passkey-status]')
  const button = form.querySelector('button[type="submit"]')
  if (!browserSupportsWebAuthn?.() || !window.isSecureContext) {
    status.textContent = 'This browser cannot use passkeys on this page.'
    continue
  }
  status.textContent = ''
  button.hidden = false
  const options = JSON.parse(form.dataset.options)
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    button.disabled = true
    status.textContent = 'Waiting for your passkey…'
    try {
      const answer =
        form.dataset.passkey === 'create'
          ? await startRegistration({ optionsJSON: options })
          : await startAuthentication({ optionsJSON: options })
      form.elements.response.value = JSON.stringify(answer)
      form.submit()
    } catch (error) {
      // NotAllowedError: cancelled, timed out, or no matching passkey on this device
      status.textContent =
        error.name === 'NotAllowedError'
          ? 'No passkey was used (cancelled or timed out). Try again.'
          : `The passkey did not work: ${error.message}`
      button.disabled = false
    }
  })
}
