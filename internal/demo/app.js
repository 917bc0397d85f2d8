// wxauth demo H5 page: the browser login of docs/api.md "H5 and
// website login", with the bind page of "Binding". Plain modern JS, no build
// step, on the JavaScript SDK (wxauth-client, sdk/js/README.md), which the
// demo serves beside this file under ./sdk/ (Go package sdkjs). The SDK does
// the protocol — PKCE, the code exchange, the history entry replaced with
// return_to, the tokens, one refresh for all requests in flight — and this
// file only draws the page, so it reads as a recipe for an H5 page.

import { createClient, STORAGE_KEYS, VERIFIER_KEY } from './sdk/index.js'
import { lang, t, translatePage } from './i18n.js'
import { qrPanel } from './qrpanel.js'

const IN_WECHAT = /MicroMessenger/.test(navigator.userAgent)
const TOKEN_API_KEY = 'wxauth.demo.token_api' // localStorage: the server the tokens belong to
const API_KEY = 'wxauth.demo.api' // sessionStorage: ?api= remembered for this tab
const BIND_KEY = 'wxauth.demo.bind' // sessionStorage: {ticket, returnTo, api} while the bind page shows
const CHECK_EVERY_KEY = 'wxauth.demo.check_every' // sessionStorage: ?check_every= remembered for this tab
const BURST = 20 // requests fired at once by the "20 requests" button

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

// How often the SDK checks that the phone's WeChat account is still the
// session's user (docs/h5.md "Noticing an account switch"): ?check_every=
// (remembered for the tab, as WeChat's redirect back carries only code and
// state), else the page's data-check-every; "off" disables it.
function resolveCheckEvery() {
  const fromQuery = new URLSearchParams(location.search).get('check_every')
  if (fromQuery) sessionStorage.setItem(CHECK_EVERY_KEY, fromQuery)
  const every = fromQuery || sessionStorage.getItem(CHECK_EVERY_KEY) || document.documentElement.dataset.checkEvery
  return every && every !== 'off' ? { every } : undefined
}

// ---------------------------------------------------------------------------
// The SDK's client. Tokens live in localStorage under the SDK's keys
// (wxauth.access_token, …); the storage below only adds what a page with a
// ?api= switch needs: tokens belong to the server that issued them, so a link
// with another ?api= finds no session (and the SDK sends tokens only to
// baseURL's origin anyway).

const storage = {
  get: (key) => (localStorage.getItem(TOKEN_API_KEY) === API ? localStorage.getItem(key) : null),
  set: (key, value) => {
    localStorage.setItem(key, value)
    localStorage.setItem(TOKEN_API_KEY, API)
  },
  remove: (key) => {
    localStorage.removeItem(key)
    if (key === STORAGE_KEYS.accessToken) localStorage.removeItem(TOKEN_API_KEY)
  },
}

const auth = createClient({
  baseURL: API,
  app: 'oa', // the default; the App select below overrides it per login
  platform: 'web',
  storage,
  checkAccount: resolveCheckEvery(),
  // No session can be restored (logged out elsewhere, revoked, refresh token
  // replayed): the SDK cleared the tokens; show the login button.
  onLoginRequired: () => showView('login-view'),
})

const hasSession = () => !!storage.get(STORAGE_KEYS.accessToken)

// ---------------------------------------------------------------------------
// Messages. SDK errors carry the contract's error code (err.code) and the
// HTTP status (err.status, 0 without an answer).

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
  // The QR logins go with the other ways to log in, on a screen a phone
  // can scan: not inside WeChat.
  for (const panel of ['qr-mp', 'qr-oa']) $(panel).hidden = id !== 'login-view' || IN_WECHAT
  if (busyText) $('busy-text').textContent = busyText
}

function errorText(e) {
  if (e.code === 'network_error') {
    return t('no_answer', { api: API, msg: e.message })
  }
  return e.message
}

// ---------------------------------------------------------------------------
// Log in: auth.startWeChatLogin keeps a fresh PKCE verifier in sessionStorage
// and sends the browser to /v1/oauth/wechat/authorize, then to WeChat.

const SCOPES = {
  oa: [['snsapi_userinfo', 'scope_userinfo'], ['snsapi_base', 'scope_base']],
  web: [['snsapi_login', 'scope_login']],
}

function fillScopes() {
  const scopes = SCOPES[$('app').value] || []
  $('scope').replaceChildren(...scopes.map(([v, key]) => new Option(t(key), v)))
}

// returnTo is the page the user asked for: ?next= if given (the server
// checks it against return_to's rules), else this page's profile view.
function returnTo() {
  return new URLSearchParams(location.search).get('next') || `${location.pathname}#profile`
}

function startLogin() {
  clearMessages()
  return auth.startWeChatLogin({ app: $('app').value, scope: $('scope').value, returnTo: returnTo() })
}

// ---------------------------------------------------------------------------
// Back from WeChat: redirect_uri?code=…&state=… (or only state: denied).
// auth.handleRedirect exchanges them, stores the tokens and replaces this
// history entry with return_to, so that Back never lands on a spent code.
// On a load with a session and no code it may instead start the account
// check (checkAccount): the page leaves for WeChat and comes straight back.

async function finishLogin() {
  const hadVerifier = !!sessionStorage.getItem(VERIFIER_KEY) // the SDK deletes it once the login answers
  const folder = location.pathname.replace(/[^/]*$/, '')
  const returning = new URLSearchParams(location.search).has('state')
  showView('busy', t(returning ? 'signing_in' : 'loading_profile'))
  let r
  try {
    r = await auth.handleRedirect()
  } catch (e) {
    showError(e.code, loginErrorText(e, hadVerifier))
    return route()
  }
  if (r.accountCheck === 'started') return showView('busy', t('checking_account'))
  if (r.accountCheck === 'switched') showNotice(t('account_switched'))
  if (r.accountCheck === 'failed') showError(r.error && r.error.code, t('account_check_failed'))
  if (r.denied) {
    showError('access_denied', t('declined'))
    return route()
  }
  if (r.bindRequired) {
    sessionStorage.setItem(BIND_KEY, JSON.stringify({ ticket: r.bindTicket, returnTo: r.returnTo, api: API }))
    history.replaceState(null, '', `${location.pathname}#bind`) // the SDK removed the spent code already
    return route()
  }
  // The SDK applied return_to with history.replaceState when it is on this
  // origin (location.replace elsewhere). Outside this page's folder it is a
  // real page of the site, not one of this page's views: load it.
  if (r.returnTo && !location.pathname.startsWith(folder)) return location.replace(location.href)
  route()
}

function loginErrorText(e, hadVerifier) {
  switch (e.code) {
    case 'invalid_state':
      return t(hadVerifier ? 'state_used' : 'state_no_verifier')
    case 'invalid_code':
      return t('code_refused')
    case 'snapshot_user':
      return t('snapshot')
    case 'wechat_unavailable':
      return t('wechat_down')
    case 'network_error':
      // The SDK kept code and state in the URL: a reload within 60 s
      // finishes the same login.
      return `${errorText(e)} ${t('reload_to_finish')}`
    default:
      return e.message
  }
}

// goTo replaces this history entry with return_to (after binding), so that
// Back does not land on the bind page. A return_to outside this page's
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
// Bind page (docs/api.md "Binding"): auth.sendSmsCode, auth.bind.

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
    btn.textContent = left > 0 ? t('send_again', { s: left }) : t('send_code')
    if (left-- <= 0) clearInterval(cooldownTimer)
  }
  tick()
  cooldownTimer = setInterval(tick, 1000)
}

async function sendCode() {
  clearMessages()
  const phone = $('bind-phone').value.trim()
  const b = bindState()
  if (!b) return route()
  try {
    // The code belongs to this login's ticket: no other ticket can use it.
    await auth.sendSmsCode({ bindTicket: b.ticket, phone, purpose: 'bind' })
  } catch (e) {
    if (e.code === 'invalid_ticket') {
      sessionStorage.removeItem(BIND_KEY)
      showError(e.code, t('bind_expired'))
      history.replaceState(null, '', location.pathname)
      return route()
    }
    if (e.code === 'phone_not_allowed') return showError(e.code, t('country_refused'))
    if (e.code === 'rate_limited' && e.retryAfter) cooldown(e.retryAfter)
    return showError(e.code, e.code === 'rate_limited' ? t('too_many_codes', { s: e.retryAfter || 60 }) : errorText(e))
  }
  updateInboxLink()
  showNotice(t('code_sent', { phone }))
  cooldown(60)
  $('sms-code').focus()
}

async function bind(ev) {
  ev.preventDefault()
  clearMessages()
  const b = bindState()
  if (!b) return route()
  try {
    await auth.bind({ bindTicket: b.ticket, phone: $('bind-phone').value.trim(), smsCode: $('sms-code').value.trim() })
  } catch (e) {
    if (e.code === 'invalid_ticket') {
      sessionStorage.removeItem(BIND_KEY)
      showError(e.code, t('bind_expired'))
      history.replaceState(null, '', location.pathname)
      return route()
    }
    return showError(e.code, e.code === 'invalid_sms_code' ? t('wrong_code') : errorText(e))
  }
  sessionStorage.removeItem(BIND_KEY)
  goTo(b.returnTo)
}

function cancelBind() {
  sessionStorage.removeItem(BIND_KEY)
  history.replaceState(null, '', location.pathname)
  clearMessages()
  route()
}

// ---------------------------------------------------------------------------
// Profile and sessions: auth.request adds the token, refreshes it when it
// is about to expire, and on 401 token_expired refreshes once for all the
// requests in flight and replays each once.

const when = (s) => (s ? new Date(s).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en') : '—')

// firstCharacter is what a reader sees as the first character of a
// nickname: an emoji whole with its joiners ("👨‍👩‍👧"), never half of a
// surrogate pair, which slice(0, 1) would give for "🐼".
function firstCharacter(s) {
  if (typeof Intl !== 'undefined' && Intl.Segmenter) {
    for (const { segment } of new Intl.Segmenter().segment(s)) return segment
  }
  return Array.from(s)[0] || ''
}

async function showProfile() {
  showView('busy', t('loading_profile'))
  let me, list
  try {
    ;[me, list] = (await Promise.all([auth.request({ url: '/v1/me' }), auth.request({ url: '/v1/sessions' })])).map((r) => r.data)
  } catch (e) {
    showError(e.code, e.status === 401 ? t('session_ended') : errorText(e))
    return showView('login-view')
  }
  const name = me.nickname || ''
  $('profile-nickname').textContent = name || t('no_nickname')
  $('profile-id').textContent = me.id
  $('profile-initial').textContent = firstCharacter(name || '?').toUpperCase()
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
  $('profile-phone').textContent = me.phone || t('not_bound')
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
    td.textContent = t('this_browser')
    tr.className = 'current'
  } else {
    const btn = document.createElement('button')
    btn.type = 'button'
    btn.className = 'link'
    btn.textContent = t('end_session')
    btn.onclick = async () => {
      try {
        await auth.request({ url: `/v1/sessions/${encodeURIComponent(s.id)}`, method: 'DELETE' })
      } catch (e) {
        return showError(e.code, errorText(e))
      }
      showProfile()
    }
    td.append(btn)
  }
  tr.append(td)
  return tr
}

// burst fires BURST requests at once. After the access token expired they
// all meet 401 token_expired (or the SDK sees the expiry first): one refresh
// serves them all, and each is replayed once. The outcome goes into
// #burst-result (its data-result is JSON, for the browser test).
async function burst() {
  const out = $('burst-result')
  out.removeAttribute('data-result')
  out.textContent = t('burst_sending', { n: BURST })
  let refreshes = 0
  const off = auth.on('refresh', () => { refreshes++ })
  const settled = await Promise.allSettled(Array.from({ length: BURST }, () => auth.request('/v1/me')))
  off()
  const ok = settled.filter((r) => r.status === 'fulfilled' && r.value.statusCode === 200).length
  const errors = settled.filter((r) => r.status === 'rejected').map((r) => r.reason?.code || String(r.reason))
  out.textContent = t('burst_result', { ok, n: BURST, r: refreshes }) +
    (errors.length ? t('burst_failed', { codes: [...new Set(errors)].join(', ') }) : '')
  out.dataset.result = JSON.stringify({ sent: BURST, ok, errors, refreshes })
}

async function logout(all) {
  clearMessages()
  try {
    await auth.logout({ all }) // clears the tokens even if the call fails
  } catch (e) {
    showError(e.code, `${errorText(e)} ${t('logged_out_anyway')}`)
  }
  showNotice(t(all ? 'logged_out_all' : 'logged_out'))
  history.replaceState(null, '', location.pathname)
  showView('login-view')
}

// A QR login's tokens arrive from the panel, not through the SDK's own login:
// kept under the SDK's keys, where the client reads them on every request.
function qrLoggedIn(login) {
  if (login.bind_required) {
    sessionStorage.setItem(BIND_KEY, JSON.stringify({ ticket: login.bind_ticket, returnTo: '/demo/', api: API }))
    return route()
  }
  storage.set(STORAGE_KEYS.accessToken, login.access_token)
  storage.set(STORAGE_KEYS.refreshToken, login.refresh_token)
  storage.set(STORAGE_KEYS.expiresAt, String(Date.now() + login.expires_in * 1000))
  route()
}

// ---------------------------------------------------------------------------
// What to show.

function route() {
  if (hasSession()) return showProfile()
  if (bindState()) {
    updateInboxLink()
    return showView('bind-view')
  }
  showView('login-view')
}

function main() {
  translatePage()
  $('api-base').textContent = API
  // An Official Account's page opens only inside WeChat; elsewhere the
  // website app's QR login is the one that works (docs/h5.md).
  if (!IN_WECHAT) $('app').value = 'web'
  fillScopes()
  $('app').addEventListener('change', fillScopes)
  $('login').addEventListener('click', () => startLogin().catch((e) => showError(e.code, errorText(e))))
  $('bind-form').addEventListener('submit', bind)
  $('send-code').addEventListener('click', sendCode)
  $('bind-phone').addEventListener('input', updateInboxLink)
  $('bind-cancel').addEventListener('click', cancelBind)
  $('logout').addEventListener('click', () => logout(false))
  $('logout-all').addEventListener('click', () => logout(true))
  $('burst').addEventListener('click', burst)
  qrPanel($('qr-mp'), { api: API, app: 'mp', words: 'mp', onLogin: qrLoggedIn })
  qrPanel($('qr-oa'), { api: API, app: 'oa', words: 'oa', onLogin: qrLoggedIn })
  // A page restored from the back/forward cache shows what it showed when
  // left (before the login, maybe): draw it again from storage.
  addEventListener('pageshow', (ev) => { if (ev.persisted) { clearMessages(); route() } })
  // Another tab logged in or out.
  addEventListener('storage', (ev) => { if (ev.key === STORAGE_KEYS.accessToken) route() })

  if (resolved.error) {
    showError('invalid_request', resolved.error)
    return showView('login-view')
  }
  // Back from WeChat, or a session the SDK may check (checkAccount).
  if (new URLSearchParams(location.search).has('state') || hasSession()) return finishLogin()
  route()
}

main()
