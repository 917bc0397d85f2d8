// auth.request and auth.getAccessToken: which token a request carries, and
// what a 401 or 409 leads to. Each request is sent at most twice, with at
// most one refresh or one login between, so a server that keeps refusing
// never causes a loop.

import { REFRESH_HELPS, SESSION_GONE, WxAuthError, errorCode, httpError } from './errors.js'
import { finish } from './http.js'
import { isAbsolute, join, originOf } from './url.js'

// createRequests: env (platform.js), apiBaseURL, trusted (the origins that
// get the token), send(req, token), tokens (tokens.js), events (events.js),
// login and refresh (single flights, with .current()).
export function createRequests({ env, apiBaseURL, trusted, send, tokens, events, login, refresh }) {
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
    return tokens.read()
  }

  // sessionGone runs after the session was found dead (a 401 session_revoked,
  // a refresh answering invalid_grant…): clear, then log in again (mini
  // program) or tell the page (H5). Answers the new tokens, or null.
  async function sessionGone(sentAccess, err) {
    await tokens.clearIfCurrent(sentAccess)
    const t = await tokens.read()
    if (t.access && t.access !== sentAccess) return t // another request already logged in again
    if (env.miniProgram) return loginForSession()
    await events.notifyLoginRequired({ error: err })
    const after = await tokens.read()
    return after.access && after.access !== sentAccess ? after : null
  }

  // tokenForRequest answers the tokens to send, logging in first (mini
  // program) and refreshing when the token expires within the margin.
  async function tokenForRequest() {
    const loginP = login.current()
    if (loginP) {
      // A login in flight: share its outcome, failure included, rather
      // than start another one.
      let r
      try {
        r = await loginP
      } catch (err) {
        if (!(await tokens.read()).access) throw err
      }
      if (!(await tokens.read()).access) return sessionOf(r)
    }
    let t = await tokens.read()
    if (!t.access) {
      if (!env.miniProgram) return null
      return loginForSession()
    }
    if (tokens.expiring(t)) {
      try {
        await refresh()
        t = await tokens.read()
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
      await events.notifyLoginRequired({ error: httpError(res) })
      return null
    }
    const now = await tokens.read()
    if (now.access && now.access !== sent.access) return now // another request already refreshed or logged in
    if (REFRESH_HELPS.has(code)) {
      try {
        await refresh()
        const t = await tokens.read()
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
    if (env.miniProgram && sent && sent.generation === tokens.generation()) {
      try {
        await (login.current() || login())
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
    await events.notifyLoginRequired({ error: err })
    throw err
  }

  return { request, getAccessToken }
}
