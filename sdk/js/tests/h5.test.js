// The H5 flows against a real `wxauth dev`, with a stand-in for the browser
// (location, history, localStorage, sessionStorage, crypto, fetch) and the
// sandbox's `sandbox_user=` shortcut for WeChat's consent page. The bind
// flows run a server with `registration: bind_phone`.

import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, STORAGE_KEYS, VERIFIER_KEY } from '../index.js'
import { challengeFor } from '../src/pkce.js'
import { MP_APPID, delta, fakeMiniProgram, http, printSummary, record, sandbox, short, sleep, startServer } from './support.js'

after(() => printSummary('h5.test.js'))

// Each case has a server of its own, so that they can run at once (one
// waits for tokens to expire) and the counters stay apart.
const SHORT = { WXAUTH_ACCESS_TTL: '2s' }
const BIND = { WXAUTH_REGISTRATION: 'bind_phone' }
function withServer(env, fn) {
  return async () => {
    const srv = await startServer(env)
    try {
      await fn(srv)
    } finally {
      await srv.stop()
    }
  }
}

function storageArea() {
  const m = new Map()
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), m }
}

// fakeBrowser is one tab on `url`. Tabs made with the same `localStorage`
// share it, as tabs of one origin do.
function fakeBrowser(url, localStorage = storageArea()) {
  const tab = {
    assigned: [],
    replacedState: [],
    locationReplaced: [],
    localStorage,
    sessionStorage: storageArea(),
    crypto: globalThis.crypto,
    fetch,
    location: {
      assign(u) { tab.assigned.push(u) },
      replace(u) { tab.locationReplaced.push(u); go(u) },
    },
    history: {
      state: null,
      replaceState(state, _title, u) { tab.replacedState.push(u); go(u) },
    },
  }
  function go(u) {
    const p = new URL(u, tab.location.href || url)
    Object.assign(tab.location, { href: p.href, origin: p.origin, pathname: p.pathname, search: p.search, hash: p.hash })
  }
  tab.go = go
  go(url)
  return tab
}

// followWeChat does what the browser and WeChat do after startWeChatLogin:
// wxauth's 302 to the consent page, the user (approving at once with
// sandbox_user=), the 302 back to redirect_uri?code=…&state=….
async function followWeChat(authorizeURL, user, { deny = false } = {}) {
  const r1 = await fetch(authorizeURL, { redirect: 'manual' })
  assert.equal(r1.status, 302, await r1.text())
  const consent = new URL(r1.headers.get('location'))
  if (deny) {
    const back = new URL(consent.searchParams.get('redirect_uri'))
    back.searchParams.set('state', consent.searchParams.get('state'))
    return back.href
  }
  consent.searchParams.set('sandbox_user', user)
  const r2 = await fetch(consent.href, { redirect: 'manual' })
  assert.equal(r2.status, 302, await r2.text())
  return r2.headers.get('location')
}

function h5Client(tab, server, extra = {}) {
  return createClient({ baseURL: server.base, app: 'oa', platform: 'web', window: tab, ...extra })
}

async function loginAs(tab, auth, user, opts = {}) {
  const url = await auth.startWeChatLogin({ scope: 'snsapi_userinfo', ...opts })
  tab.go(await followWeChat(url, user))
  return auth.handleRedirect()
}

describe('H5 and bind', { concurrency: true }, () => {
  test('H5: startWeChatLogin → WeChat → handleRedirect: tokens stored, history entry replaced with return_to', withServer({}, async (srv) => {
    const tab = fakeBrowser(`${srv.base}/app/login?from=menu`)
    const auth = h5Client(tab, srv)
    const logins = []
    auth.on('login', (r) => logins.push(r))
    const url = await auth.startWeChatLogin({ returnTo: '/orders?x=1', scope: 'snsapi_userinfo' })
    assert.deepEqual(tab.assigned, [url])
    const q = new URL(url).searchParams
    assert.equal(new URL(url).origin + new URL(url).pathname, `${srv.base}/v1/oauth/wechat/authorize`)
    assert.equal(q.get('redirect_uri'), `${srv.base}/app/login`)
    assert.equal(q.get('return_to'), '/orders?x=1')
    assert.equal(q.get('app'), 'oa')
    assert.equal(q.get('scope'), 'snsapi_userinfo')
    assert.equal(q.get('code_challenge_method'), 'S256')
    const verifier = tab.sessionStorage.getItem(VERIFIER_KEY)
    assert.match(verifier, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(q.get('code_challenge'), await challengeFor(verifier, globalThis.crypto))

    tab.go(await followWeChat(url, 'alice'))
    assert.match(tab.location.search, /code=.*state=/)
    const before = await srv.counters()
    // Called twice (a framework running effects twice): one exchange.
    const [res, res2] = await Promise.all([auth.handleRedirect(), auth.handleRedirect()])
    const d = delta(before, await srv.counters())
    assert.equal(res, res2)
    assert.equal(res.loggedIn, true)
    assert.equal(res.bindRequired, false)
    assert.equal(res.bindTicket, null)
    assert.equal(res.returnTo, '/orders?x=1')
    assert.deepEqual(tab.replacedState, ['/orders?x=1'])
    assert.equal(tab.location.href, `${srv.base}/orders?x=1`)
    assert.equal(tab.sessionStorage.getItem(VERIFIER_KEY), null)
    assert.ok(tab.localStorage.getItem(STORAGE_KEYS.accessToken))
    assert.ok(tab.localStorage.getItem(STORAGE_KEYS.refreshToken))
    assert.equal(logins.length, 1)
    assert.equal(d[http('POST /v1/oauth/wechat/login', 200)], 1)
    assert.equal(d[sandbox('/sns/oauth2/access_token')], 1)
    const me = await auth.request('/v1/me')
    assert.equal(me.data.nickname, 'Alice')
    // The page loaded again (Back, reload): nothing to exchange.
    assert.deepEqual(await auth.handleRedirect(), { loggedIn: true, bindRequired: false, bindTicket: null, returnTo: null })
    record('H5 login (handleRedirect called twice at once)', short(d))
  }))

  test('H5: many requests across an access-token expiry, in two tabs', withServer(SHORT, async (srv) => {
    const shared = storageArea()
    const tab1 = fakeBrowser(`${srv.base}/app/`, shared)
    const tab2 = fakeBrowser(`${srv.base}/app/`, shared)
    const a1 = h5Client(tab1, srv)
    const a2 = h5Client(tab2, srv)
    await loginAs(tab1, a1, 'bob')
    // Tab 2 uses the same session from localStorage.
    assert.equal((await a2.request('/v1/me')).statusCode, 200)
    await sleep(Math.max(0, Number(shared.getItem(STORAGE_KEYS.expiresAt)) - Date.now()) + 1100)
    let before = await srv.counters()
    const one = await Promise.all(Array.from({ length: 20 }, () => a1.request('/v1/me')))
    const d1 = delta(before, await srv.counters())
    assert.ok(one.every((r) => r.statusCode === 200))
    assert.equal(d1[http('POST /v1/token/refresh', 200)], 1)
    assert.equal(d1[http('GET /v1/me', 200)], 20)
    record('H5: 20 requests in one tab after expiry', short(d1))

    // Both tabs at once, after the next expiry: each tab refreshes once at
    // most; a replay inside the grace window gets the same successor, so
    // nobody is logged out.
    await sleep(Math.max(0, Number(shared.getItem(STORAGE_KEYS.expiresAt)) - Date.now()) + 1100)
    before = await srv.counters()
    const both = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a1 : a2).request('/v1/me')))
    const d2 = delta(before, await srv.counters())
    assert.ok(both.every((r) => r.statusCode === 200))
    assert.ok(d2[http('POST /v1/token/refresh', 200)] >= 1 && d2[http('POST /v1/token/refresh', 200)] <= 2)
    assert.equal(d2[http('POST /v1/token/refresh', 401)], undefined)
    assert.equal(d2.wxauth_refresh_reuse_detected_total, undefined)
    record('H5: 2 tabs sharing localStorage, 10 requests each after expiry', short(d2))
  }))

  test('H5: a revoked session calls onLoginRequired once and rejects with session_revoked', withServer({}, async (srv) => {
    const tab = fakeBrowser(`${srv.base}/app/`)
    let required = 0
    const auth = h5Client(tab, srv, { onLoginRequired: () => { required++ } })
    const t = await loginAs(tab, auth, 'alice')
    assert.equal(t.loggedIn, true)
    const access = tab.localStorage.getItem(STORAGE_KEYS.accessToken)
    const sid = JSON.parse(Buffer.from(access.split('.')[1], 'base64url')).sid
    const del = await fetch(`${srv.base}/v1/sessions/${sid}`, { method: 'DELETE', headers: { Authorization: `Bearer ${access}` } })
    assert.equal(del.status, 204)
    const before = await srv.counters()
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => auth.request('/v1/me')))
    const d = delta(before, await srv.counters())
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason.code === 'session_revoked' && r.reason.status === 401))
    assert.equal(required, 1)
    assert.equal(tab.localStorage.getItem(STORAGE_KEYS.accessToken), null)
    assert.equal(d[http('GET /v1/me', 401)], 5)
    assert.equal(d[http('POST /v1/token/refresh', 200)], undefined)
    record('H5: 5 requests on a revoked session', { ...short(d), onLoginRequired: required })
  }))

  test('H5: denied on the consent page, a lost verifier, logout', withServer({}, async (srv) => {
    const tab = fakeBrowser(`${srv.base}/app/login`)
    const auth = h5Client(tab, srv)
    let url = await auth.startWeChatLogin({ returnTo: '/orders' })
    tab.go(await followWeChat(url, 'alice', { deny: true }))
    let before = await srv.counters()
    const denied = await auth.handleRedirect()
    assert.equal(denied.loggedIn, false)
    assert.equal(denied.denied, true)
    assert.equal(tab.location.search, '')
    assert.equal(delta(before, await srv.counters())[http('POST /v1/oauth/wechat/login', 200)], undefined)

    // The tab that finishes is not the one that started (no verifier).
    url = await auth.startWeChatLogin({ returnTo: '/orders' })
    tab.go(await followWeChat(url, 'alice'))
    tab.sessionStorage.removeItem(VERIFIER_KEY)
    await assert.rejects(auth.handleRedirect(), { code: 'invalid_state', status: 400 })
    assert.equal(tab.location.search, '', 'the spent code is gone from the URL')

    await loginAs(tab, auth, 'alice')
    before = await srv.counters()
    await auth.logout()
    const d = delta(before, await srv.counters())
    assert.equal(d[http('POST /v1/logout', 204)], 1)
    assert.equal(tab.localStorage.m.size, 0)
  }))

  test('bind (H5): bind_required → SMS code → bind → logged in with the phone', withServer(BIND, async (bindSrv) => {
    const user = await bindSrv.newUser('carol')
    const tab = fakeBrowser(`${bindSrv.base}/app/login`)
    const auth = h5Client(tab, bindSrv)
    const res = await loginAs(tab, auth, user, { returnTo: '/welcome' })
    assert.equal(res.loggedIn, false)
    assert.equal(res.bindRequired, true)
    assert.ok(res.bindTicket)
    assert.equal(res.returnTo, '/welcome')
    assert.equal(tab.location.search, '')
    const phone = `+86139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`
    await assert.rejects(auth.sendSmsCode({ phone }), TypeError)
    await auth.sendSmsCode({ bindTicket: res.bindTicket, phone })
    const inbox = await bindSrv.json('GET', `/sandbox/v1/sms?phone=${encodeURIComponent(phone)}`)
    const smsCode = inbox.messages.at(-1).code
    await assert.rejects(auth.bind({ bindTicket: res.bindTicket, phone, smsCode: smsCode === '000000' ? '111111' : '000000' }), { code: 'invalid_sms_code' })
    const t = await auth.bind({ bindTicket: res.bindTicket, phone, smsCode })
    assert.ok(t.access_token)
    const me = await auth.request('/v1/me')
    assert.equal(me.data.phone, phone)
  }))

  test('bind (mini program): a request answers bind_required, bind with phoneCode, then it works', withServer(BIND, async (bindSrv) => {
    const user = await bindSrv.newUser('dave')
    const wx = fakeMiniProgram(bindSrv, user)
    const required = []
    const auth = createClient({ baseURL: bindSrv.base, app: 'mp', wx })
    auth.on('loginRequired', (e) => required.push(e))
    const err = await auth.request('/v1/me').catch((e) => e)
    assert.equal(err.code, 'bind_required')
    assert.ok(err.bindTicket)
    assert.equal(required.length, 1)
    assert.equal(required[0].bindRequired, true)
    const { code } = await bindSrv.json('POST', '/sandbox/v1/miniprogram/phonecode', { appid: MP_APPID, user })
    await auth.bind({ bindTicket: err.bindTicket, phoneCode: code })
    const me = await auth.request('/v1/me')
    assert.equal(me.statusCode, 200)
    assert.match(me.data.phone, /^\+86/)
    assert.equal(wx.calls.login, 1)
  }))
})
