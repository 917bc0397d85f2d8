// wxauth-client: the JavaScript SDK of wxauth (the contract: README.md). One
// client per app: it logs in (mini programs) or finishes the WeChat redirect
// (H5), keeps the tokens, adds them to requests for wxauth and your API, and
// refreshes them — one login and one refresh at a time, each request retried
// at most once, so a server that keeps refusing never causes a loop.
//
// createClient composes the modules of src/: platform.js (wx, uni, fetch),
// tokens.js (the token store), login.js and refresh.js (single flights),
// request.js (which token a request carries, what a 401 leads to),
// redirect.js (H5), scope.js (permissions), events.js, errors.js.

import { createAccountCheck } from './src/accountcheck.js'
import { REFRESH_HELPS, SESSION_GONE, WxAuthError, errorCode, httpError } from './src/errors.js'
import { createEvents } from './src/events.js'
import { checkTokenHeader, finish, createSender } from './src/http.js'
import { createLogin } from './src/login.js'
import { detectPlatform, makeEnv, memoryStorage } from './src/platform.js'
import { VERIFIER_KEY, createRedirect } from './src/redirect.js'
import { createQRLogin } from './src/qrlogin.js'
import { createRefresh } from './src/refresh.js'
import { createRequests } from './src/request.js'
import { createEnsureScope } from './src/scope.js'
import { STORAGE_KEYS, createTokenStore } from './src/tokens.js'
import { originOf, trimSlash } from './src/url.js'

export { WxAuthError, memoryStorage, STORAGE_KEYS, VERIFIER_KEY, originOf }
export { tokenLifetimeMs } from './src/jwt.js'

/**
 * @param {import('./index.js').ClientOptions} options
 * @returns {import('./index.js').Client}
 */
export function createClient(options) {
  if (!options || !options.baseURL) throw new TypeError('wxauth: options.baseURL is required')
  const baseURL = trimSlash(options.baseURL)
  const apiBaseURL = trimSlash(options.apiBaseURL || options.baseURL)
  const trusted = new Set([originOf(baseURL), originOf(apiBaseURL)])
  if (trusted.has(null)) throw new TypeError('wxauth: baseURL and apiBaseURL must be plain http(s) URLs')

  const platform = detectPlatform(options)
  const env = makeEnv(platform, options)
  const app = options.app
  const events = createEvents(options.onLoginRequired)
  const tokens = createTokenStore({ storage: env.storage, miniProgram: env.miniProgram, onSave: events.rearm })
  const { send, post } = createSender(env, baseURL, checkTokenHeader(options.tokenHeader))
  let epoch = 0 // +1 at every logout and every session made elsewhere: a login finishing after it is dropped
  const newSession = () => { epoch++ }

  const login = createLogin({ env, app, post, tokens, events, refreshInFlight: () => refresh.current(), epoch: () => epoch })
  const refresh = createRefresh({ tokens, post, loginInFlight: login.current, emit: events.emit })
  const { request, getAccessToken } = createRequests({ env, apiBaseURL, trusted, send, tokens, events, login, refresh })
  const check = env.miniProgram ? null : createAccountCheck(options.checkAccount, env.storage)
  const { startWeChatLogin, handleRedirect } = createRedirect({
    env, baseURL, app, post, tokens, emit: events.emit, newSession, check, postWithSession, endSession: () => logout(),
  })

  // postWithSession posts with the session's access token, refreshed first
  // if it is expiring and once more after a 401 a refresh helps; null
  // without a session.
  async function postWithSession(path, body, method = 'POST') {
    const call = (token) => method === 'POST' ? post(path, body, token) : send({ url: baseURL + path, method }, token)
    let t = await tokens.read()
    if (!t.access) return null
    if (tokens.expiring(t)) t = await refresh().then(tokens.read, () => t)
    let res = await call(t.access)
    if (res.statusCode === 401 && REFRESH_HELPS.has(errorCode(res))) {
      const fresh = await refresh().then(tokens.read, () => null)
      if (fresh && fresh.access) res = await call(fresh.access)
    }
    return res
  }
  const qr = createQRLogin({ baseURL, send, post, tokens, events, newSession, request })

  async function logout({ all = false } = {}) {
    newSession()
    let failure = null
    try {
      const body = all ? { all: true } : {}
      const res = await postWithSession('/v1/logout', body)
      if (res) {
        // A session already over, or a token the server cannot read even
        // after a refresh: nothing left that this client can end.
        const over = res.statusCode === 401 && (SESSION_GONE.has(errorCode(res)) || errorCode(res) === 'invalid_token')
        if (res.statusCode >= 400 && !over) failure = httpError(res)
      }
    } catch (err) {
      failure = err
    }
    await tokens.clear()
    events.emit('logout', { all: !!all })
    if (failure) throw failure // logged out here anyway; the server may still hold the session
  }

  // deleteAccount is DELETE /v1/me: on 204 the tokens are cleared (event
  // `logout`); on 403 reauthentication_required (the login is not recent)
  // it rejects with that code and keeps the tokens: log in again, retry.
  async function deleteAccount() {
    const res = await postWithSession('/v1/me', undefined, 'DELETE')
    if (!res) throw new WxAuthError('login_required', 0, 'wxauth: deleteAccount needs a session; log in first')
    if (res.statusCode !== 204) throw httpError(res)
    newSession()
    await tokens.clear()
    events.emit('logout', { all: true })
  }

  // Binding a phone (docs/api.md "Binding").
  /** @param {any} opts */
  async function bind(opts = {}) {
    if (!opts.bindTicket) throw new TypeError('wxauth: bind needs a bindTicket')
    const body = { bind_ticket: opts.bindTicket }
    if (opts.phoneCode) body.phone_code = opts.phoneCode
    else Object.assign(body, { phone: opts.phone, sms_code: opts.smsCode })
    const res = await post('/v1/bind', body)
    if (res.statusCode !== 200 || !res.data || typeof res.data !== 'object') throw httpError(res)
    newSession()
    await tokens.save(res.data, true)
    events.emit('login', res.data)
    return res.data
  }

  // The code belongs to the ticket: only that ticket's bind can use it.
  /** @param {{bindTicket?: string, phone?: string, purpose?: string}} [opts] */
  async function sendSmsCode({ bindTicket, phone, purpose = 'bind' } = {}) {
    if (!bindTicket) throw new TypeError('wxauth: sendSmsCode needs the bindTicket of the login')
    finish(await post('/v1/sms/send', { bind_ticket: bindTicket, phone, purpose }))
  }

  return {
    platform,
    baseURL,
    apiBaseURL,
    login: (opts) => login(opts),
    request,
    refresh: () => refresh(),
    logout,
    deleteAccount,
    getAccessToken,
    startWeChatLogin,
    handleRedirect,
    bind,
    sendSmsCode,
    qrLogin: (opts) => qr.qrLogin({ app, ...opts }),
    scanQR: qr.scanQR,
    confirmQR: qr.confirmQR,
    cancelQR: qr.cancelQR,
    ensureScope: createEnsureScope(env.ui),
    on: events.on,
    off: events.off,
  }
}

export default createClient
