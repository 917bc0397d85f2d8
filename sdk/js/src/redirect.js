// The H5 login through WeChat (docs/api.md "H5 and website login"):
// startWeChatLogin sends the browser to /v1/oauth/wechat/authorize with a
// PKCE challenge; handleRedirect, on the page WeChat sends the user back to,
// exchanges code and state at /v1/oauth/wechat/login and replaces the
// history entry, so that Back never lands on a spent code.

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
// drops whatever login was in flight).
export function createRedirect({ env, baseURL, app, post, tokens, emit, newSession }) {
  async function startWeChatLogin(opts = {}) {
    const w = web(env)
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

  const handleRedirect = singleFlight(async () => {
    const w = web(env)
    const loc = w.location
    const q = readParams(loc.search)
    const cleaned = loc.pathname + stripParams(loc.search, ['code', 'state']) + (loc.hash || '')
    const result = (loggedIn, extra) => ({ loggedIn, bindRequired: false, bindTicket: null, returnTo: null, ...extra })
    if (!q.state) return result(!!(await tokens.read()).access)
    const ss = session(w)
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
    emit('login', d)
    replaceWith(w, d.return_to || cleaned)
    return result(true, { returnTo: d.return_to || null, user: d.user, isNewUser: !!d.is_new_user })
  })

  return { startWeChatLogin, handleRedirect: () => handleRedirect() }
}
