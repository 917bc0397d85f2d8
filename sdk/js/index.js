// wxauth-client: the JavaScript SDK of wxauth (sdk/js/README.md). One client
// per app: it logs in (mini programs) or finishes the WeChat redirect (H5),
// keeps the tokens, adds them to requests for wxauth and your API, and
// refreshes them — one login and one refresh at a time, each request retried
// at most once, so a server that keeps refusing never causes a loop.

import { WxAuthError, errorCode, httpError } from './src/errors.js'
import { detectPlatform, makeEnv, memoryStorage, queryString, root } from './src/platform.js'
import { challengeFor, newVerifier } from './src/pkce.js'

export { WxAuthError, memoryStorage }

export const STORAGE_KEYS = Object.freeze({
  accessToken: 'wxauth.access_token',
  refreshToken: 'wxauth.refresh_token',
  expiresAt: 'wxauth.expires_at',
})
export const VERIFIER_KEY = 'wxauth.code_verifier' // sessionStorage, H5 only

// A 401 with one of these means the session cannot be refreshed: log in again.
const SESSION_GONE = new Set(['invalid_grant', 'refresh_token_reused', 'session_revoked', 'invalid_token'])
// A login refused with one of these is tried once more with a new wx.login
// code (wxauth never retries a code exchange itself: docs/api.md "Errors").
const NEW_CODE_HELPS = new Set(['wechat_unavailable', 'invalid_code'])
const EVENTS = ['login', 'refresh', 'logout', 'loginRequired']
const MAX_MARGIN_MS = 60000
const noop = () => {}

// ---------------------------------------------------------------------------
// URLs. The token goes only to the origins of baseURL and apiBaseURL. The
// origin is read with a strict pattern (no URL class in mini programs); any
// URL it cannot read plainly (userinfo, backslash, odd characters) is
// treated as foreign and gets no token.

export function originOf(url) {
  const m = /^(https?):\/\/([^/?#\\]*)([/?#\\]|$)/i.exec(String(url))
  if (!m || m[3] === '\\') return null
  const scheme = m[1].toLowerCase()
  let host = m[2].toLowerCase()
  if (!host || /[^a-z0-9.\-:[\]]/.test(host)) return null
  host = host.replace(scheme === 'https' ? /:443$/ : /:80$/, '')
  return `${scheme}://${host}`
}

const isAbsolute = (url) => /^[a-z][a-z0-9+.-]*:/i.test(url)
const trimSlash = (s) => String(s).replace(/\/+$/, '')
const join = (base, path) => trimSlash(base) + (path.startsWith('/') ? path : `/${path}`)

// ---------------------------------------------------------------------------
// JWT lifetime (exp − iat), for the proactive refresh margin. atob is not
// available in mini programs: a small base64 decoder.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
function base64urlToString(s) {
  let out = ''
  let bits = 0
  let value = 0
  for (const ch of s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')) {
    const i = B64.indexOf(ch)
    if (i < 0) throw new Error('bad base64')
    value = (value << 6) | i
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out += String.fromCharCode((value >> bits) & 0xff)
    }
  }
  return out
}

export function tokenLifetimeMs(jwt) {
  try {
    const claims = JSON.parse(base64urlToString(String(jwt).split('.')[1]))
    if (typeof claims.exp === 'number' && typeof claims.iat === 'number' && claims.exp > claims.iat) {
      return (claims.exp - claims.iat) * 1000
    }
  } catch (e) {
    // not a JWT we can read: no proactive margin
  }
  return 0
}

// ---------------------------------------------------------------------------

export function createClient(options = {}) {
  if (!options.baseURL) throw new TypeError('wxauth: options.baseURL is required')
  const baseURL = trimSlash(options.baseURL)
  const apiBaseURL = trimSlash(options.apiBaseURL || options.baseURL)
  const trusted = new Set([originOf(baseURL), originOf(apiBaseURL)])
  if (trusted.has(null)) throw new TypeError('wxauth: baseURL and apiBaseURL must be plain http(s) URLs')

  const platform = detectPlatform(options)
  const env = makeEnv(platform, options)
  const storage = env.storage
  const app = options.app
  const onLoginRequired = options.onLoginRequired

  const listeners = Object.fromEntries(EVENTS.map((e) => [e, new Set()]))
  let loginP = null // the login in flight
  let refreshP = null // the refresh in flight
  let redirectP = null // handleRedirect in flight
  let generation = 0 // +1 at every new session (login, bind, H5 login)
  let epoch = 0 // +1 at every logout: a login finishing after it is dropped
  let loginRequiredNotified = false
  let mem = null // tokens as last read or written (mini programs: storage is read once)
  let loaded = null // the first read of storage (mini programs)
  const scopeFlows = new Map()
  let scopeQueue = Promise.resolve()

  // ----- events

  function emit(event, payload) {
    for (const fn of [...listeners[event]]) {
      try {
        fn(payload)
      } catch (err) {
        setTimeout(() => { throw err }) // a listener's bug must not break a login
      }
    }
  }

  async function notifyLoginRequired(info) {
    if (loginRequiredNotified) return
    loginRequiredNotified = true
    emit('loginRequired', info)
    if (typeof onLoginRequired === 'function') await onLoginRequired(info)
  }

  // ----- tokens

  async function readStorage() {
    const [access, refresh, expiresAt] = await Promise.all([
      storage.get(STORAGE_KEYS.accessToken),
      storage.get(STORAGE_KEYS.refreshToken),
      storage.get(STORAGE_KEYS.expiresAt),
    ])
    return { access: access || null, refresh: refresh || null, expiresAt: Number(expiresAt) || 0, generation }
  }

  // readTokens: the web shares localStorage with other tabs, which refresh
  // too, so it reads storage every time. A mini program has one client:
  // storage is read once, then the copy in memory is the truth.
  async function readTokens() {
    if (!env.miniProgram) return (mem = await readStorage())
    if (mem) return mem
    if (!loaded) loaded = readStorage().then((t) => mem || (mem = t))
    return loaded
  }

  async function saveTokens(res, newSession) {
    if (newSession) generation++
    const expiresAt = Date.now() + (Number(res.expires_in) || 0) * 1000
    mem = { access: res.access_token, refresh: res.refresh_token || (mem && mem.refresh) || null, expiresAt, generation }
    loginRequiredNotified = false
    await Promise.all([
      storage.set(STORAGE_KEYS.accessToken, mem.access),
      mem.refresh ? storage.set(STORAGE_KEYS.refreshToken, mem.refresh) : null,
      storage.set(STORAGE_KEYS.expiresAt, String(expiresAt)),
    ])
  }

  async function clearTokens() {
    mem = { access: null, refresh: null, expiresAt: 0, generation }
    await Promise.all(Object.values(STORAGE_KEYS).map((k) => storage.remove(k)))
  }

  // clearIfCurrent clears the tokens only if they are still the ones that
  // failed; if another request already replaced them, they stay.
  async function clearIfCurrent(access) {
    const t = await readTokens()
    if (t.access && t.access === access) await clearTokens()
  }

  function expiring(t) {
    if (!t.expiresAt) return false
    const margin = Math.min(MAX_MARGIN_MS, tokenLifetimeMs(t.access) / 10)
    return t.expiresAt - Date.now() <= margin
  }

  // ----- HTTP

  function send(req, token) {
    const header = {}
    for (const [k, v] of Object.entries(req.header || {})) {
      if (!(token && k.toLowerCase() === 'authorization')) header[k] = v
    }
    if (token) header.Authorization = `Bearer ${token}`
    return env.request({ url: req.url, method: (req.method || 'GET').toUpperCase(), data: req.data, header, timeout: req.timeout })
  }

  const post = (path, data, token) => send({ url: baseURL + path, method: 'POST', data }, token)

  function finish(res) {
    if (res.statusCode >= 200 && res.statusCode < 400) return res
    throw httpError(res)
  }

  // ----- login (mini programs)

  function login(opts = {}) {
    if (!env.miniProgram) {
      return Promise.reject(new WxAuthError('not_supported', 0, 'wxauth: login() is for mini programs; H5 pages use startWeChatLogin()'))
    }
    if (!loginP) {
      const p = (async () => {
        if (refreshP) await refreshP.catch(noop)
        const startEpoch = epoch
        let lastErr
        for (let attempt = 0; attempt < 2; attempt++) {
          const code = await env.login()
          const body = { code }
          if (app) body.app = app
          if (opts.inviter) body.inviter = opts.inviter
          const res = await post('/v1/miniprogram/login', body)
          if (res.statusCode === 200 && res.data && typeof res.data === 'object') {
            if (epoch !== startEpoch) throw new WxAuthError('logged_out', 0, 'wxauth: logout() was called during the login')
            if (res.data.bind_required) {
              await clearTokens()
              notifyLoginRequired({ bindRequired: true, bindTicket: res.data.bind_ticket }).catch(noop)
              return res.data
            }
            await saveTokens(res.data, true)
            emit('login', res.data)
            return res.data
          }
          lastErr = httpError(res)
          if (!NEW_CODE_HELPS.has(lastErr.code)) break
        }
        throw lastErr
      })()
      loginP = p
      p.finally(() => { if (loginP === p) loginP = null }).catch(noop)
    }
    return loginP
  }

  // loginForSession is login() for the SDK's own use: a bind answer is an
  // error, since no session came of it.
  async function loginForSession() {
    return sessionOf(await login())
  }

  async function sessionOf(loginResult) {
    if (loginResult && loginResult.bind_required) {
      throw new WxAuthError('bind_required', 200, 'wxauth: this WeChat user must bind a phone first (auth.bind)',
        { bindTicket: loginResult.bind_ticket })
    }
    return readTokens()
  }

  // ----- refresh

  function refresh() {
    if (!refreshP) {
      const p = (async () => {
        if (loginP) await loginP.catch(noop)
        const t = await readTokens()
        if (!t.refresh) throw new WxAuthError('invalid_grant', 0, 'wxauth: no refresh token; log in')
        const res = await post('/v1/token/refresh', { refresh_token: t.refresh })
        if (res.statusCode !== 200 || !res.data || typeof res.data !== 'object') {
          const err = httpError(res)
          if (SESSION_GONE.has(err.code)) await clearIfCurrent(t.access)
          throw err
        }
        const now = await readTokens()
        if (now.refresh === t.refresh) { // not logged out or replaced meanwhile
          await saveTokens(res.data, false)
          emit('refresh', res.data)
        }
        return res.data
      })()
      refreshP = p
      p.finally(() => { if (refreshP === p) refreshP = null }).catch(noop)
    }
    return refreshP
  }

  // ----- the session a request uses

  // sessionGone runs after the session was found dead (a 401 session_revoked,
  // a refresh answering invalid_grant…): clear, then log in again (mini
  // program) or tell the page (H5). Answers the new tokens, or null.
  async function sessionGone(sentAccess, err) {
    await clearIfCurrent(sentAccess)
    const t = await readTokens()
    if (t.access && t.access !== sentAccess) return t // another request already logged in again
    if (env.miniProgram) return loginForSession()
    await notifyLoginRequired({ error: err })
    const after = await readTokens()
    return after.access && after.access !== sentAccess ? after : null
  }

  // tokenForRequest answers the tokens to send, logging in first (mini
  // program) and refreshing when the token expires within the margin.
  async function tokenForRequest() {
    if (loginP) {
      // A login in flight: share its outcome, failure included, rather
      // than start another one.
      let r
      try {
        r = await loginP
      } catch (err) {
        if (!(await readTokens()).access) throw err
      }
      if (!(await readTokens()).access) return sessionOf(r)
    }
    let t = await readTokens()
    if (!t.access) {
      if (!env.miniProgram) return null
      return loginForSession()
    }
    if (expiring(t)) {
      try {
        await refresh()
        t = await readTokens()
      } catch (err) {
        if (SESSION_GONE.has(err.code)) return (await sessionGone(t.access, err)) || Promise.reject(err)
        if (t.expiresAt <= Date.now()) throw err // expired and no refresh: nothing to send
        // still valid a little longer (the refresh met a network error): use it
      }
    }
    return t
  }

  // recover handles a 401 of a request sent with `sent`: answers the tokens
  // to retry with, or null to give up.
  async function recover(code, sent, res) {
    if (!sent || !sent.access) {
      if (env.miniProgram) return null
      await notifyLoginRequired({ error: httpError(res) })
      return null
    }
    const now = await readTokens()
    if (now.access && now.access !== sent.access) return now // another request already refreshed or logged in
    if (code === 'token_expired') {
      try {
        await refresh()
        const t = await readTokens()
        return t.access ? t : null
      } catch (err) {
        if (!SESSION_GONE.has(err.code)) throw err
        // The refresh says the session is over: the request fails with that.
        const t = await sessionGone(sent.access, err)
        if (!t) throw err
        return t
      }
    }
    if (SESSION_GONE.has(code)) return sessionGone(sent.access, httpError(res))
    return null
  }

  // sessionKeyExpired: the server's session_key is older than the data the
  // page got from WeChat. wx.login + login gives the server the current key;
  // the data must then be asked for again, so the request still fails.
  async function sessionKeyExpired(sent, res) {
    const err = httpError(res)
    if (env.miniProgram && sent && sent.generation === generation) {
      try {
        await (loginP || login())
      } catch (loginErr) {
        err.cause = loginErr
      }
    }
    throw err
  }

  async function request(options) {
    const req = typeof options === 'string' ? { url: options } : { ...options }
    if (!req.url) throw new TypeError('wxauth: request needs a url')
    req.url = isAbsolute(req.url) ? req.url : join(apiBaseURL, req.url)
    if (req.auth === false || !trusted.has(originOf(req.url))) {
      // Not ours (or asked not to): no token, no refresh, no retry.
      return finish(await send(req, null))
    }
    const sent = await tokenForRequest()
    const res = await send(req, sent && sent.access)
    if (res.statusCode === 409 && errorCode(res) === 'session_key_expired') return sessionKeyExpired(sent, res)
    if (res.statusCode !== 401) return finish(res)
    const next = await recover(errorCode(res), sent, res)
    if (!next || !next.access) throw httpError(res)
    const retried = await send(req, next.access) // once; whatever it answers is final
    if (retried.statusCode === 409 && errorCode(retried) === 'session_key_expired') return sessionKeyExpired(next, retried)
    return finish(retried)
  }

  async function getAccessToken() {
    const t = await tokenForRequest()
    if (t && t.access) return t.access
    const err = new WxAuthError('invalid_grant', 0, 'wxauth: not logged in')
    await notifyLoginRequired({ error: err })
    throw err
  }

  // ----- logout

  async function logout({ all = false } = {}) {
    epoch++
    let failure = null
    try {
      let t = await readTokens()
      if (t.access) {
        if (expiring(t)) t = await refresh().then(readTokens, () => t)
        const body = all ? { all: true } : {}
        let res = await post('/v1/logout', body, t.access)
        if (res.statusCode === 401 && errorCode(res) === 'token_expired') {
          const fresh = await refresh().then(readTokens, () => null)
          if (fresh && fresh.access) res = await post('/v1/logout', body, fresh.access)
        }
        if (res.statusCode >= 400 && !(res.statusCode === 401 && SESSION_GONE.has(errorCode(res)))) failure = httpError(res)
      }
    } catch (err) {
      failure = err
    }
    await clearTokens()
    emit('logout', { all: !!all })
    if (failure) throw failure // logged out here anyway; the server may still hold the session
  }

  // ----- H5: the WeChat redirect (docs/api.md "H5 and website login")

  function web() {
    const w = env.window
    if (!w || !w.location) throw new WxAuthError('not_supported', 0, 'wxauth: this needs a browser page')
    return w
  }

  function session(w) {
    try {
      return w.sessionStorage || null
    } catch (e) {
      return null
    }
  }

  async function startWeChatLogin(opts = {}) {
    const w = web()
    const loc = w.location
    const verifier = newVerifier(w.crypto || root.crypto)
    const ss = session(w)
    if (ss) ss.setItem(VERIFIER_KEY, verifier)
    const challenge = await challengeFor(verifier, w.crypto || root.crypto)
    const search = stripParams(loc.search, ['code', 'state'])
    const params = {
      app: opts.app || app,
      scope: opts.scope,
      redirect_uri: pageOrigin(loc) + loc.pathname,
      return_to: opts.returnTo || loc.pathname + search + (loc.hash || ''),
      code_challenge: challenge,
      code_challenge_method: 'S256',
      inviter: opts.inviter,
    }
    const url = `${baseURL}/v1/oauth/wechat/authorize?${queryString(params)}`
    loc.assign(url)
    return url
  }

  // pageOrigin: location.origin, which some old WebViews lack.
  function pageOrigin(loc) {
    return loc.origin || `${loc.protocol}//${loc.host}`
  }

  function stripParams(search, names) {
    const kept = String(search || '').replace(/^\?/, '').split('&')
      .filter((p) => p && !names.includes(p.split('=')[0]))
    return kept.length ? `?${kept.join('&')}` : ''
  }

  function readParams(search) {
    const out = {}
    const decode = (s) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '))
      } catch (e) {
        return s
      }
    }
    for (const p of String(search || '').replace(/^\?/, '').split('&')) {
      if (!p) continue
      const i = p.indexOf('=')
      out[decode(i < 0 ? p : p.slice(0, i))] = i < 0 ? '' : decode(p.slice(i + 1))
    }
    return out
  }

  // replaceWith swaps the history entry of the page WeChat sent the user
  // back to for `target`: history.replaceState on this origin, else
  // location.replace. Either way Back never returns to a spent code.
  function replaceWith(w, target) {
    const loc = w.location
    const sameOrigin = target.startsWith('/') && !target.startsWith('//')
      || originOf(target) === originOf(`${pageOrigin(loc)}/`)
    if (sameOrigin && w.history && typeof w.history.replaceState === 'function') {
      w.history.replaceState(null, '', target)
    } else {
      loc.replace(target)
    }
  }

  function handleRedirect() {
    if (!redirectP) {
      const p = (async () => {
        const w = web()
        const loc = w.location
        const q = readParams(loc.search)
        const cleaned = loc.pathname + stripParams(loc.search, ['code', 'state']) + (loc.hash || '')
        const result = (loggedIn, extra) => ({ loggedIn, bindRequired: false, bindTicket: null, returnTo: null, ...extra })
        if (!q.state) return result(!!(await readTokens()).access)
        const ss = session(w)
        if (!q.code) { // the user declined on WeChat's page
          if (ss) ss.removeItem(VERIFIER_KEY)
          replaceWith(w, cleaned)
          return result(!!(await readTokens()).access, { denied: true })
        }
        const body = { code: q.code, state: q.state }
        const verifier = ss && ss.getItem(VERIFIER_KEY)
        if (verifier) body.code_verifier = verifier
        // A network failure throws here and leaves code, state and verifier
        // in place: reloading within 60 s finishes the same login.
        const res = await post('/v1/oauth/wechat/login', body)
        if (ss) ss.removeItem(VERIFIER_KEY)
        if (res.statusCode !== 200 || !res.data || typeof res.data !== 'object') {
          replaceWith(w, cleaned)
          throw httpError(res)
        }
        const d = res.data
        if (d.bind_required) {
          replaceWith(w, cleaned)
          return result(false, { bindRequired: true, bindTicket: d.bind_ticket, returnTo: d.return_to || null })
        }
        epoch++ // a session of its own: drop whatever login was in flight
        await saveTokens(d, true)
        emit('login', d)
        replaceWith(w, d.return_to || cleaned)
        return result(true, { returnTo: d.return_to || null, user: d.user, isNewUser: !!d.is_new_user })
      })()
      redirectP = p
      p.finally(() => { if (redirectP === p) redirectP = null }).catch(noop)
    }
    return redirectP
  }

  // ----- binding a phone (docs/api.md "Binding")

  async function bind(opts = {}) {
    if (!opts.bindTicket) throw new TypeError('wxauth: bind needs a bindTicket')
    const body = { bind_ticket: opts.bindTicket }
    if (opts.phoneCode) body.phone_code = opts.phoneCode
    else Object.assign(body, { phone: opts.phone, sms_code: opts.smsCode })
    const res = await post('/v1/bind', body)
    if (res.statusCode !== 200 || !res.data || typeof res.data !== 'object') throw httpError(res)
    epoch++
    await saveTokens(res.data, true)
    emit('login', res.data)
    return res.data
  }

  async function sendSmsCode({ phone, purpose = 'bind' } = {}) {
    finish(await post('/v1/sms/send', { phone, purpose }))
  }

  // ----- permissions (mini programs)

  function ensureScope(scope, modal = {}) {
    const ui = env.ui
    if (!ui) return Promise.reject(new WxAuthError('not_supported', 0, 'wxauth: ensureScope needs wx/uni getSetting and authorize'))
    if (scopeFlows.has(scope)) return scopeFlows.get(scope)
    // One flow per scope; flows of different scopes take turns, so that two
    // dialogs never stack.
    const p = scopeQueue.then(async () => {
      const setting = await ui.getSetting().catch(() => null)
      if (setting && setting.authSetting && setting.authSetting[scope] === true) return true
      try {
        await ui.authorize(scope)
        return true
      } catch (e) {
        // refused now, or earlier (then WeChat refuses at once, without asking)
      }
      return ui.showModalThenOpenSetting(scope, {
        title: modal.title || '需要你的授权',
        content: modal.content || '请在设置中打开相应权限后继续。',
        confirmText: modal.confirmText || '去设置',
        cancelText: modal.cancelText || '取消',
      })
    })
    scopeFlows.set(scope, p)
    scopeQueue = p.catch(noop)
    p.finally(() => scopeFlows.delete(scope)).catch(noop)
    return p
  }

  // ----- events

  function on(event, fn) {
    if (!listeners[event]) throw new TypeError(`wxauth: unknown event ${JSON.stringify(event)}; events: ${EVENTS.join(', ')}`)
    listeners[event].add(fn)
    return () => listeners[event].delete(fn)
  }

  function off(event, fn) {
    if (listeners[event]) listeners[event].delete(fn)
  }

  return {
    platform,
    baseURL,
    apiBaseURL,
    login,
    request,
    refresh,
    logout,
    getAccessToken,
    startWeChatLogin,
    handleRedirect,
    bind,
    sendSmsCode,
    ensureScope,
    on,
    off,
  }
}

export default createClient
