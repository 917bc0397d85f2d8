// The H5 login through WeChat (docs/api.md "H5 and website login"):
// startWeChatLogin sends the browser to /v1/oauth/wechat/authorize with a
// PKCE challenge; handleRedirect, on the page WeChat sends the user back to,
// exchanges code and state at /v1/oauth/wechat/login and replaces the
// history entry, so that Back never lands on a spent code.

import { CHECK_KEY, inWeChat } from './accountcheck.js'
import { WxAuthError, httpError } from './errors.js'
import { challengeFor, newVerifier } from './pkce.js'
import { queryString, root } from './platform.js'
import { singleFlight } from './singleflight.js'
import { originOf } from './url.js'

export const VERIFIER_KEY = 'wxauth.code_verifier' // sessionStorage, H5 only

function web(env) {
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

// createRedirect: env (platform.js), baseURL, app, post(path, body), tokens
// (tokens.js), emit(event, payload), newSession() (a session of its own:
// drops whatever login was in flight), check (accountcheck.js, or null),
// postWithSession(path, body) (a post with the session's token, refreshed
// if need be; null without a session), endSession() (logout()).
export function createRedirect({ env, baseURL, app, post, tokens, emit, newSession, check, postWithSession, endSession }) {
  async function startWeChatLogin(opts = {}) {
    const w = web(env)
    const loc = w.location
    const verifier = newVerifier(w.crypto || root.crypto)
    const ss = session(w)
    if (ss) ss.setItem(VERIFIER_KEY, verifier)
    const challenge = await challengeFor(verifier, w.crypto || root.crypto)
    const search = stripParams(loc.search, ['code', 'state'])
    const here = loc.pathname + search + (loc.hash || '')
    if (ss && opts.check) ss.setItem(CHECK_KEY, here)
    else if (ss) ss.removeItem(CHECK_KEY) // a login: whatever check was abandoned is over
    const params = {
      app: opts.app || app,
      scope: opts.check ? 'snsapi_base' : opts.scope,
      redirect_uri: pageOrigin(loc) + loc.pathname,
      return_to: opts.returnTo || here,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      inviter: opts.inviter,
      check: opts.check ? '1' : undefined,
    }
    const url = `${baseURL}/v1/oauth/wechat/authorize?${queryString(params)}`
    // A check replaces this history entry: it comes straight back here, and
    // Back should not land on the page it left.
    if (opts.check) loc.replace(url)
    else loc.assign(url)
    return url
  }

  const handleRedirect = singleFlight(async () => {
    const w = web(env)
    const loc = w.location
    const q = readParams(loc.search)
    const cleaned = loc.pathname + stripParams(loc.search, ['code', 'state']) + (loc.hash || '')
    const result = (loggedIn, extra) => ({ loggedIn, bindRequired: false, bindTicket: null, returnTo: null, ...extra })
    const ss = session(w)
    if (!q.state) {
      const loggedIn = !!(await tokens.read()).access
      if (!loggedIn || !check || !inWeChat(w) || !(await check.due())) return result(loggedIn)
      await check.mark()
      await startWeChatLogin({ check: true })
      return result(true, { accountCheck: 'started' })
    }
    const checkReturn = ss && ss.getItem(CHECK_KEY)
    if (checkReturn !== null && checkReturn !== undefined) {
      ss.removeItem(CHECK_KEY)
      return finishCheck(w, q, ss, checkReturn, cleaned, result)
    }
    if (!q.code) { // the user declined on WeChat's page
      if (ss) ss.removeItem(VERIFIER_KEY)
      replaceWith(w, cleaned)
      return result(!!(await tokens.read()).access, { denied: true })
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
    newSession()
    await tokens.save(d, true)
    if (check) await check.mark() // a login is as good as a check
    emit('login', d)
    replaceWith(w, d.return_to || cleaned)
    return result(true, { returnTo: d.return_to || null, user: d.user, isNewUser: !!d.is_new_user })
  })

  // finishCheck posts a check's code and state with the session. The same
  // user: nothing changes. Another person: the old session ends and the
  // answer's login (or bind ticket) takes its place. A check that fails
  // keeps the session: the next one runs after `every`.
  async function finishCheck(w, q, ss, back, cleaned, result) {
    const verifier = ss.getItem(VERIFIER_KEY)
    ss.removeItem(VERIFIER_KEY)
    let res = null
    if (q.code) {
      const body = { code: q.code, state: q.state }
      if (verifier) body.code_verifier = verifier
      res = await postWithSession('/v1/oauth/wechat/check', body).catch((err) => ({ statusCode: 0, data: null, err }))
    }
    const d = res && res.statusCode === 200 && res.data && typeof res.data === 'object' ? res.data : null
    if (!d || typeof d.same_user !== 'boolean') {
      replaceWith(w, back || cleaned)
      const error = res && res.err ? res.err : res ? httpError(res) : null
      return result(!!(await tokens.read()).access, { accountCheck: 'failed', error })
    }
    if (d.same_user) {
      replaceWith(w, back || cleaned)
      return result(true, { accountCheck: 'same' })
    }
    await endSession().catch(() => {}) // the old person's session; ended locally whatever the server says
    if (d.bind_required) {
      replaceWith(w, back || cleaned)
      return result(false, { accountCheck: 'switched', bindRequired: true, bindTicket: d.bind_ticket, returnTo: d.return_to || null })
    }
    newSession()
    await tokens.save(d, true)
    await check.mark()
    emit('login', d)
    replaceWith(w, d.return_to || back || cleaned)
    return result(true, { accountCheck: 'switched', returnTo: d.return_to || null, user: d.user, isNewUser: !!d.is_new_user })
  }

  return { startWeChatLogin, handleRedirect: () => handleRedirect() }
}
