// wxauth demo H5 page: the browser login of spec/api.md §4 "Official
// account", with the bind page of §4 "Binding". Plain modern JS, no build
// step; it does by hand what the JS SDK's startWeChatLogin and handleRedirect
// do (spec/sdk-js.md), so that it can be read as a recipe.

// Storage keys. The token keys are the SDK's (spec/sdk-js.md).
const TOKEN_KEYS = {
  access: 'wxauth.access_token',
  refresh: 'wxauth.refresh_token',
  expiresAt: 'wxauth.expires_at',
}
const TOKEN_API_KEY = 'wxauth.demo.token_api' // localStorage: the server the tokens belong to
const API_KEY = 'wxauth.demo.api' // sessionStorage: ?api= remembered for this tab
const PENDING_KEY = 'wxauth.demo.pending' // sessionStorage: {verifier, api, returnTo} of a login in flight
const BIND_KEY = 'wxauth.demo.bind' // sessionStorage: {ticket, returnTo, api} while the bind page shows

const $ = (id) => document.getElementById(id)

// ---------------------------------------------------------------------------
// Where wxauth is: ?api= (remembered for the tab, since WeChat's redirect back
// carries only code and state), else the page's data-api attribute, else this
// page's own origin.

function resolveAPI() {
  const fromQuery = new URLSearchParams(location.search).get('api')
  if (fromQuery) sessionStorage.setItem(API_KEY, fromQuery)
  const raw = fromQuery || sessionStorage.getItem(API_KEY) || document.documentElement.dataset.api || location.origin
  let u
  try {
    u = new URL(raw, location.href)
  } catch {
    return { error: `The wxauth address ${JSON.stringify(raw)} is not a URL.` }
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return { error: `The wxauth address must be http(s), not ${u.protocol}` }
  }
  return { base: (u.origin + u.pathname).replace(/\/+$/, '') }
}

const resolved = resolveAPI()
const API = resolved.base || location.origin

// ---------------------------------------------------------------------------
// Messages.

function showError(code, text) {
  const el = $('error')
  el.replaceChildren()
  if (code) {
    const c = document.createElement('code')
    c.textContent = code
    el.append(c, ' ')
  }
  el.append(text || '')
  el.hidden = false
}

function showNotice(text) {
  $('notice').textContent = text
  $('notice').hidden = !text
}

function clearMessages() {
  $('error').hidden = true
  $('error').replaceChildren()
  showNotice('')
}

function showView(id, busyText) {
  for (const v of ['busy', 'login-view', 'bind-view', 'profile-view']) $(v).hidden = v !== id
  if (busyText) $('busy-text').textContent = busyText
}

// ---------------------------------------------------------------------------
// Tokens, in localStorage under the SDK's keys. They are sent only to the
// server that issued them: a link with another ?api= must not receive them.

function loadTokens() {
  const access = localStorage.getItem(TOKEN_KEYS.access)
  if (!access || localStorage.getItem(TOKEN_API_KEY) !== API) return null
  return {
    access,
    refresh: localStorage.getItem(TOKEN_KEYS.refresh),
    expiresAt: Number(localStorage.getItem(TOKEN_KEYS.expiresAt)) || 0,
  }
}

function saveTokens(t) {
  localStorage.setItem(TOKEN_KEYS.access, t.access_token)
  localStorage.setItem(TOKEN_KEYS.refresh, t.refresh_token)
  localStorage.setItem(TOKEN_KEYS.expiresAt, String(Date.now() + t.expires_in * 1000))
  localStorage.setItem(TOKEN_API_KEY, API)
}

function clearTokens() {
  for (const k of Object.values(TOKEN_KEYS)) localStorage.removeItem(k)
  localStorage.removeItem(TOKEN_API_KEY)
}

// ---------------------------------------------------------------------------
// HTTP. Errors reject with an Error whose code is the contract's error code
// (spec/api.md §2) and whose status is the HTTP status.

class APIError extends Error {
  constructor(status, code, description, retryAfter) {
    super(description || code)
    this.status = status
    this.code = code
    this.retryAfter = retryAfter
  }
}

async function call(method, path, body, accessToken) {
  const headers = {}
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`
  let resp
  try {
    resp = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    })
  } catch (e) {
    throw new APIError(0, 'network_error', `wxauth at ${API} did not answer (is it running, and is this page's origin in cors_origins?): ${e.message}`)
  }
  if (resp.status === 204) return null
  let data = null
  try {
    data = await resp.json()
  } catch {
    // not JSON: handled below
  }
  if (!resp.ok) {
    throw new APIError(resp.status, data?.error || `http_${resp.status}`,
      data?.error_description || resp.statusText, resp.headers.get('Retry-After'))
  }
  return data
}

// One refresh at a time, shared by every request that found its token
// expired (spec/api.md §4 "Sessions": refresh tokens are single use).
let refreshing = null

function refresh() {
  refreshing ??= (async () => {
    try {
      const t = loadTokens()
      if (!t?.refresh) throw new APIError(401, 'invalid_grant', 'no refresh token')
      saveTokens(await call('POST', '/v1/token/refresh', { refresh_token: t.refresh }))
    } finally {
      refreshing = null
    }
  })()
  return refreshing
}

// authed calls a protected endpoint: a token about to expire is refreshed
// first, a 401 token_expired refreshes and retries once, and any other 401
// means the session is over.
async function authed(method, path, body) {
  let t = loadTokens()
  if (!t) throw new APIError(401, 'invalid_token', 'not logged in')
  if (t.expiresAt && t.expiresAt - Date.now() < 30_000) {
    await refresh()
    t = loadTokens()
  }
  try {
    return await call(method, path, body, t.access)
  } catch (e) {
    if (e.status !== 401 || e.code !== 'token_expired') throw e
  }
  await refresh()
  return call(method, path, body, loadTokens().access)
}

const sessionOver = (e) => e.status === 401

// ---------------------------------------------------------------------------
// PKCE (RFC 7636, S256): a random verifier kept in sessionStorage, its
// SHA-256 sent as the challenge.

function base64url(bytes) {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

async function sha256(bytes) {
  if (globalThis.crypto?.subtle) return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return sha256Fallback(bytes) // crypto.subtle exists only in secure contexts: not on http://192.168.x.y
}

// sha256Fallback is FIPS 180-4 SHA-256, for pages served over plain http to
// a phone on the LAN, where browsers hide crypto.subtle.
function sha256Fallback(data) {
  const primes = []
  for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p)) primes.push(n)
  const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0
  const K = primes.map((p) => frac(Math.cbrt(p)))
  const H = primes.slice(0, 8).map((p) => frac(Math.sqrt(p)))
  const len = data.length
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6)
  padded.set(data)
  padded[len] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(padded.length - 8, Math.floor(len / 2 ** 29))
  view.setUint32(padded.length - 4, (len << 3) >>> 0)
  const w = new Uint32Array(64)
  const rotr = (x, n) => (x >>> n) | (x << (32 - n))
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4)
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3)
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10)
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0
    }
    let [a, b, c, d, e, f, g, h] = H
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0
      ;[h, g, f, e, d, c, b, a] = [g, f, e, (d + t1) >>> 0, c, b, a, (t1 + t2) >>> 0]
    }
    ;[a, b, c, d, e, f, g, h].forEach((v, i) => { H[i] = (H[i] + v) >>> 0 })
  }
  const out = new Uint8Array(32)
  const ov = new DataView(out.buffer)
  H.forEach((v, i) => ov.setUint32(i * 4, v))
  return out
}

// ---------------------------------------------------------------------------
// Log in: to /v1/oauth/wechat/authorize, which sends the browser to WeChat.

const SCOPES = {
  oa: [['snsapi_userinfo', 'snsapi_userinfo — nickname and avatar (consent page)'], ['snsapi_base', 'snsapi_base — openid only (silent)']],
  web: [['snsapi_login', 'snsapi_login — QR login']],
}

function fillScopes() {
  const scopes = SCOPES[$('app').value] || []
  $('scope').replaceChildren(...scopes.map(([v, label]) => new Option(label, v)))
}

// returnTo is the page the user asked for: ?next= if given (the server
// checks it against return_to's rules), else this page's profile view.
function returnTo() {
  return new URLSearchParams(location.search).get('next') || `${location.pathname}#profile`
}

async function startLogin() {
  clearMessages()
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32))) // 43 characters
  const challenge = base64url(await sha256(new TextEncoder().encode(verifier)))
  const next = returnTo()
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, api: API, returnTo: next }))
  const u = new URL(`${API}/v1/oauth/wechat/authorize`)
  u.search = new URLSearchParams({
    app: $('app').value,
    scope: $('scope').value,
    redirect_uri: location.origin + location.pathname, // this page, without query or fragment
    return_to: next,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString()
  location.assign(u.href)
}

// ---------------------------------------------------------------------------
// Back from WeChat: redirect_uri?code=…&state=… (or only state: denied).

async function handleRedirect(params) {
  const code = params.get('code')
  const state = params.get('state')
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || 'null')
  if (!code) {
    sessionStorage.removeItem(PENDING_KEY)
    history.replaceState(null, '', cleanURL())
    showError('access_denied', 'You declined the WeChat authorization, so nothing was shared with this site. Log in again whenever you like.')
    return route()
  }
  showView('busy', 'Signing in…')
  let res
  try {
    res = await call('POST', '/v1/oauth/wechat/login', { code, state, code_verifier: pending?.verifier })
  } catch (e) {
    sessionStorage.removeItem(PENDING_KEY)
    history.replaceState(null, '', cleanURL())
    showError(e.code, loginErrorText(e, pending))
    return route()
  }
  sessionStorage.removeItem(PENDING_KEY)
  if (res.bind_required) {
    sessionStorage.setItem(BIND_KEY, JSON.stringify({ ticket: res.bind_ticket, returnTo: res.return_to, api: API }))
    history.replaceState(null, '', `${location.pathname}#bind`) // the code is spent: no going back to it
    return route()
  }
  saveTokens(res)
  goTo(res.return_to)
}

function loginErrorText(e, pending) {
  switch (e.code) {
    case 'invalid_state':
      return pending
        ? 'This login link is used, expired, or belongs to another browser. Log in again.'
        : 'This tab did not start this login (its PKCE verifier is missing), so it cannot finish it. Log in again.'
    case 'invalid_code':
      return 'WeChat refused the code (used or expired). Log in again.'
    case 'snapshot_user':
      return 'This is WeChat\'s preview of the page. Open the page fully to log in.'
    case 'wechat_unavailable':
      return 'WeChat did not answer. Log in again in a moment.'
    default:
      return e.message
  }
}

// cleanURL is this page without code, state or any other query, keeping ?api=
// out of sight too: the tab remembers it.
function cleanURL() {
  return location.pathname
}

// goTo replaces this history entry with return_to, so that Back does not
// land on a used code (spec/api.md §4). A return_to outside this page's
// folder, or on another origin, is a real page: go there.
function goTo(target) {
  let u
  try {
    u = new URL(target || returnTo(), location.href)
  } catch {
    u = new URL(returnTo(), location.href)
  }
  const folder = location.pathname.replace(/[^/]*$/, '')
  if (u.origin !== location.origin || !u.pathname.startsWith(folder)) {
    location.replace(u.href)
    return
  }
  history.replaceState(null, '', u.href)
  route()
}

// ---------------------------------------------------------------------------
// Bind page (spec/api.md §4 "Binding").

function bindState() {
  const b = JSON.parse(sessionStorage.getItem(BIND_KEY) || 'null')
  return b && b.api === API ? b : null
}

function updateInboxLink() {
  const phone = $('bind-phone').value.trim()
  $('sms-inbox').href = `${API}/sandbox/v1/sms?phone=${encodeURIComponent(phone)}`
}

let cooldownTimer = null

function cooldown(seconds) {
  const btn = $('send-code')
  clearInterval(cooldownTimer)
  let left = seconds
  const tick = () => {
    btn.disabled = left > 0
    btn.textContent = left > 0 ? `Send again in ${left}s` : 'Send code'
    if (left-- <= 0) clearInterval(cooldownTimer)
  }
  tick()
  cooldownTimer = setInterval(tick, 1000)
}

async function sendCode() {
  clearMessages()
  const phone = $('bind-phone').value.trim()
  try {
    await call('POST', '/v1/sms/send', { phone, purpose: 'bind' })
  } catch (e) {
    if (e.code === 'rate_limited' && e.retryAfter) cooldown(Number(e.retryAfter))
    return showError(e.code, e.code === 'rate_limited' ? `Too many codes for now; try again in ${e.retryAfter || 'a while'} s.` : e.message)
  }
  updateInboxLink()
  showNotice(`A code was sent to ${phone}. In development, read it in the sandbox SMS inbox.`)
  cooldown(60)
  $('sms-code').focus()
}

async function bind(ev) {
  ev.preventDefault()
  clearMessages()
  const b = bindState()
  if (!b) return route()
  let res
  try {
    res = await call('POST', '/v1/bind', {
      bind_ticket: b.ticket,
      phone: $('bind-phone').value.trim(),
      sms_code: $('sms-code').value.trim(),
    })
  } catch (e) {
    if (e.code === 'invalid_ticket') {
      sessionStorage.removeItem(BIND_KEY)
      showError(e.code, 'This bind page has expired. Log in again.')
      history.replaceState(null, '', cleanURL())
      return route()
    }
    return showError(e.code, e.code === 'invalid_sms_code' ? 'Wrong or expired code. Check it, or send a new one.' : e.message)
  }
  sessionStorage.removeItem(BIND_KEY)
  saveTokens(res)
  goTo(b.returnTo)
}

function cancelBind() {
  sessionStorage.removeItem(BIND_KEY)
  history.replaceState(null, '', cleanURL())
  clearMessages()
  route()
}

// ---------------------------------------------------------------------------
// Profile and sessions.

const when = (s) => (s ? new Date(s).toLocaleString() : '—')

async function showProfile() {
  showView('busy', 'Loading your profile…')
  let me, list
  try {
    ;[me, list] = await Promise.all([authed('GET', '/v1/me'), authed('GET', '/v1/sessions')])
  } catch (e) {
    if (sessionOver(e)) {
      clearTokens()
      showError(e.code, 'Your session has ended. Log in again.')
      return showView('login-view')
    }
    showError(e.code, e.message)
    return showView('login-view')
  }
  const name = me.nickname || ''
  $('profile-nickname').textContent = name || '(no nickname: snsapi_base gives only an openid)'
  $('profile-id').textContent = me.id
  $('profile-initial').textContent = (name || '?').slice(0, 1).toUpperCase()
  const img = $('profile-avatar')
  img.hidden = true
  $('profile-initial').hidden = false
  if (me.avatar_url) {
    img.onload = () => { img.hidden = false; $('profile-initial').hidden = true }
    img.onerror = () => { img.hidden = true; $('profile-initial').hidden = false }
    img.src = me.avatar_url
  } else {
    img.removeAttribute('src')
  }
  $('profile-phone').textContent = me.phone || 'not bound'
  $('profile-created').textContent = when(me.created_at)
  $('profile-identities').replaceChildren(...(me.identities || []).map((id) => {
    const li = document.createElement('li')
    li.textContent = `${id.app}: openid ${id.openid}` + (id.unionid ? `, unionid ${id.unionid}` : '')
    return li
  }))
  $('sessions').tBodies[0].replaceChildren(...(list.sessions || []).map(sessionRow))
  showView('profile-view')
}

function sessionRow(s) {
  const tr = document.createElement('tr')
  tr.dataset.sid = s.id
  for (const text of [s.app, when(s.created_at), when(s.last_used_at)]) {
    const td = document.createElement('td')
    td.textContent = text
    tr.append(td)
  }
  const td = document.createElement('td')
  if (s.current) {
    td.textContent = 'this browser'
    tr.className = 'current'
  } else {
    const btn = document.createElement('button')
    btn.type = 'button'
    btn.className = 'link'
    btn.textContent = 'End'
    btn.onclick = async () => {
      try {
        await authed('DELETE', `/v1/sessions/${encodeURIComponent(s.id)}`)
      } catch (e) {
        return showError(e.code, e.message)
      }
      showProfile()
    }
    td.append(btn)
  }
  tr.append(td)
  return tr
}

async function logout(all) {
  clearMessages()
  try {
    await authed('POST', '/v1/logout', all ? { all: true } : {})
  } catch (e) {
    if (!sessionOver(e)) showError(e.code, `${e.message} — logged out of this browser anyway.`)
  }
  clearTokens() // even if the call failed (spec/sdk-js.md logout)
  showNotice(all ? 'Logged out everywhere.' : 'Logged out.')
  history.replaceState(null, '', cleanURL())
  showView('login-view')
}

// ---------------------------------------------------------------------------
// What to show.

function route() {
  if (loadTokens()) return showProfile()
  if (bindState()) {
    updateInboxLink()
    return showView('bind-view')
  }
  showView('login-view')
}

function main() {
  $('api-base').textContent = API
  fillScopes()
  $('app').addEventListener('change', fillScopes)
  $('login').addEventListener('click', () => startLogin().catch((e) => showError('', e.message)))
  $('bind-form').addEventListener('submit', bind)
  $('send-code').addEventListener('click', sendCode)
  $('bind-phone').addEventListener('input', updateInboxLink)
  $('bind-cancel').addEventListener('click', cancelBind)
  $('logout').addEventListener('click', () => logout(false))
  $('logout-all').addEventListener('click', () => logout(true))
  // A page restored from the back/forward cache shows what it showed when
  // left (before the login, maybe): draw it again from storage.
  addEventListener('pageshow', (ev) => { if (ev.persisted) { clearMessages(); route() } })
  // Another tab logged in or out.
  addEventListener('storage', (ev) => { if (ev.key === TOKEN_KEYS.access) route() })

  if (resolved.error) {
    showError('invalid_request', resolved.error)
    return showView('login-view')
  }
  const params = new URLSearchParams(location.search)
  if (params.has('state')) return handleRedirect(params)
  route()
}

main()
