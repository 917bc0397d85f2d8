// QR login (docs/qrlogin.md): a PC page shows a mini program code and
// follows its ticket until the phone confirms (qrLogin); the mini program
// opened by the code reports the scan and confirms or cancels (scanQR,
// confirmQR, cancelQR) with its own session.

import { WxAuthError, httpError } from './errors.js'

// A long poll answers within 25 s; the request gives it room.
const POLL_TIMEOUT_MS = 35000

// createQRLogin: baseURL, send(req, token), post(path, data), tokens,
// events, newSession, request (auth.request, for the mini program's calls).
export function createQRLogin({ baseURL, send, post, tokens, events, newSession, request }) {
  /** @param {any} [opts] */
  async function qrLogin({ app, onStatus, signal } = {}) {
    if (!app) throw new TypeError('wxauth: qrLogin needs the app whose code to show')
    const created = await post('/v1/qrlogin', { app })
    if (created.statusCode !== 200 || !created.data || typeof created.data !== 'object') throw httpError(created)
    const { ticket, poll_token: pollToken, image_url: imagePath, expires_in: expiresIn } = created.data
    const info = { ticket, imageURL: baseURL + imagePath }
    const tell = (status, extra) => { if (onStatus) onStatus({ ...info, status, ...extra }) }
    tell('created', { expiresIn })
    const abortedError = () => new WxAuthError('aborted', 0, 'wxauth: qrLogin was aborted')
    // Rejects when signal aborts: a poll in flight is left to end by itself.
    const aborted = signal
      ? new Promise((_, reject) => {
          if (signal.aborted) reject(abortedError())
          else signal.addEventListener('abort', () => reject(abortedError()), { once: true })
        })
      : null
    if (aborted) aborted.catch(() => {}) // observed below; never unhandled
    let after = ''
    for (;;) {
      if (signal && signal.aborted) throw abortedError()
      const url = `${baseURL}/v1/qrlogin/${ticket}` + (after ? `?after=${after}` : '')
      const poll = send({ url, timeout: POLL_TIMEOUT_MS }, pollToken)
      const res = await (aborted ? Promise.race([poll, aborted]) : poll)
      if (res.statusCode !== 200 || !res.data || typeof res.data !== 'object') throw httpError(res)
      const st = res.data
      after = st.status
      tell(st.status, { expiresIn: st.expires_in })
      if (st.status === 'confirmed') {
        const login = st.login
        if (login && login.bind_required) return login // as login() answers: bind() next
        newSession()
        await tokens.save(login, true)
        events.emit('login', login)
        return login
      }
      if (st.status === 'canceled' || st.status === 'expired') {
        throw new WxAuthError(`qr_${st.status}`, 0, `wxauth: the QR login was ${st.status}`)
      }
    }
  }

  // The mini program's steps: POST with its session (logging in first if
  // it has none, as every auth.request).
  const step = (name) => async (ticket) => {
    if (!ticket) throw new TypeError(`wxauth: ${name}QR needs the ticket (decodeURIComponent(query.scene))`)
    const res = await request({ url: `${baseURL}/v1/qrlogin/${encodeURIComponent(ticket)}/${name}`, method: 'POST' })
    return res.data
  }

  return { qrLogin, scanQR: step('scan'), confirmQR: step('confirm'), cancelQR: step('cancel') }
}
