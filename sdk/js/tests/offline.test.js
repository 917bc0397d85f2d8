// Cases that need no wxauth: servers that keep refusing (a tiny local HTTP
// server), ensureScope with fake getSetting/authorize/showModal/openSetting,
// the origin rule, storage, PKCE.

import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createClient, originOf, STORAGE_KEYS, tokenLifetimeMs } from '../index.js'
import { challengeFor, sha256 } from '../src/pkce.js'
import { printSummary, record, sleep, tinyServer } from './support.js'

after(() => printSummary('offline.test.js'))

let serial = 0
function fakeJWT(ttl = 3600) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  return `${b64({ alg: 'none' })}.${b64({ iat: now, exp: now + ttl, jti: String(++serial) })}.sig`
}
const tokens = () => ({
  access_token: fakeJWT(), token_type: 'Bearer', expires_in: 3600,
  refresh_token: `r${++serial}`, refresh_expires_in: 604800, session_id: 's', is_new_user: false,
})

// A wx whose login hands out made-up codes and whose request is real HTTP.
function plainWx() {
  const store = new Map()
  const calls = { login: 0 }
  return {
    calls,
    store,
    login({ success }) { calls.login++; setImmediate(() => success({ code: `c${calls.login}` })) },
    request({ url, method, data, header, success, fail }) {
      fetch(url, { method, headers: header, body: method === 'GET' || data == null ? undefined : JSON.stringify(data) })
        .then(async (r) => success({ statusCode: r.status, data: await r.json().catch(() => ''), header: {} }), (e) => fail({ errMsg: e.message }))
    },
    getStorageSync: (k) => store.get(k) || '',
    setStorageSync: (k, v) => store.set(k, v),
    removeStorageSync: (k) => store.delete(k),
  }
}

// A browser-ish window for the web adapter.
function fakeWindow() {
  const mk = () => {
    const m = new Map()
    return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), m }
  }
  return { fetch, localStorage: mk(), sessionStorage: mk(), crypto: globalThis.crypto }
}

// ---------------------------------------------------------------------------
// A server that keeps answering 401.

test('a server that keeps answering 401 token_expired: bounded calls, a clear error', async () => {
  const srv = await tinyServer((e) => {
    if (e.path === '/v1/miniprogram/login' || e.path === '/v1/token/refresh') return [200, tokens()]
    return [401, { error: 'token_expired', error_description: 'always expired' }]
  })
  try {
    const wx = plainWx()
    const auth = createClient({ baseURL: srv.base, wx })
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => auth.request({ url: '/x' })))
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason.code === 'token_expired' && r.reason.status === 401))
    assert.match(results[0].reason.message, /always expired/)
    const counts = { login: srv.count('/v1/miniprogram/login'), refresh: srv.count('/v1/token/refresh'), '/x': srv.count('/x') }
    assert.deepEqual(counts, { login: 1, refresh: 1, '/x': 40 })
    // One more request on its own: one refresh, two tries, then the error.
    await assert.rejects(auth.request({ url: '/x' }), { code: 'token_expired', status: 401 })
    assert.equal(srv.count('/v1/token/refresh'), 2)
    assert.equal(srv.count('/x'), 42)
    record('always 401 token_expired: 20 concurrent requests, then 1 more', {
      first20: counts, then1: { refresh: 1, '/x': 2 }, 'wx.login': wx.calls.login,
    })
  } finally {
    await srv.close()
  }
})

test('a server that keeps answering 401 session_revoked / invalid_grant: one re-login, then the error', async () => {
  const srv = await tinyServer((e) => {
    if (e.path === '/v1/miniprogram/login') return [200, tokens()]
    if (e.path === '/v1/token/refresh') return [401, { error: 'invalid_grant' }]
    return [401, { error: 'session_revoked' }]
  })
  try {
    const wx = plainWx()
    const auth = createClient({ baseURL: srv.base, wx })
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => auth.request({ url: '/x' })))
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason.code === 'session_revoked'))
    const counts = { login: srv.count('/v1/miniprogram/login'), refresh: srv.count('/v1/token/refresh'), '/x': srv.count('/x') }
    assert.deepEqual(counts, { login: 2, refresh: 0, '/x': 40 })
    assert.equal(wx.calls.login, 2)
    record('always 401 session_revoked: 20 concurrent requests', { ...counts, 'wx.login': wx.calls.login })
  } finally {
    await srv.close()
  }
})

test('a server that refuses even the login: one login call, the error', async () => {
  const srv = await tinyServer(() => [401, { error: 'invalid_grant', error_description: 'no' }])
  try {
    const wx = plainWx()
    const auth = createClient({ baseURL: srv.base, wx })
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => auth.request({ url: '/x' })))
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason.code === 'invalid_grant'))
    assert.equal(srv.seen.length, 1)
    assert.equal(wx.calls.login, 1)
    record('every call 401 invalid_grant, login included: 20 requests', { login: 1, '/x': 0, 'wx.login': 1 })
  } finally {
    await srv.close()
  }
})

test('H5: refresh refused → onLoginRequired once, tokens cleared, the error', async () => {
  const srv = await tinyServer((e) => {
    if (e.path === '/v1/token/refresh') return [401, { error: 'invalid_grant' }]
    return [401, { error: 'token_expired' }]
  })
  try {
    const win = fakeWindow()
    win.localStorage.setItem(STORAGE_KEYS.accessToken, fakeJWT())
    win.localStorage.setItem(STORAGE_KEYS.refreshToken, 'r-old')
    win.localStorage.setItem(STORAGE_KEYS.expiresAt, String(Date.now() + 3600_000))
    let required = 0
    const events = []
    const auth = createClient({ baseURL: srv.base, platform: 'web', window: win, onLoginRequired: () => { required++ } })
    auth.on('loginRequired', (e) => events.push(e))
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => auth.request({ url: '/x' })))
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason.code === 'invalid_grant'), JSON.stringify(results.map((r) => r.reason?.code)))
    assert.equal(required, 1)
    assert.equal(events.length, 1)
    assert.equal(srv.count('/v1/token/refresh'), 1)
    assert.equal(srv.count('/x'), 20)
    assert.equal(win.localStorage.m.size, 0)
    // No session now: a request goes out without a token once, and fails.
    await assert.rejects(auth.request({ url: '/x' }), { code: 'token_expired' })
    assert.equal(srv.seen.at(-1).authorization, null)
    await assert.rejects(auth.getAccessToken(), { code: 'invalid_grant', status: 0 })
    record('H5, always 401 + refresh invalid_grant: 20 requests', {
      refresh: 1, '/x': 20, onLoginRequired: required,
    })
  } finally {
    await srv.close()
  }
})

test('a failed wx.login clears the lock', async () => {
  const srv = await tinyServer(() => [200, tokens()])
  try {
    const wx = plainWx()
    const login = wx.login
    let fails = 1
    wx.login = (o) => (fails-- > 0 ? setImmediate(() => o.fail({ errMsg: 'login:fail timeout' })) : login(o))
    const auth = createClient({ baseURL: srv.base, wx })
    const first = await Promise.allSettled([auth.login(), auth.request('/x')])
    assert.ok(first.every((r) => r.status === 'rejected' && r.reason.code === 'wx_login_failed'))
    const t = await auth.login()
    assert.ok(t.access_token)
    assert.equal(srv.count('/v1/miniprogram/login'), 1)
  } finally {
    await srv.close()
  }
})

// ---------------------------------------------------------------------------
// ensureScope.

function fakeUI(state, { authorize = 'deny', confirm = true, grantInSettings = true, delay = 15 } = {}) {
  const calls = { getSetting: 0, authorize: 0, showModal: 0, openSetting: 0 }
  const modals = []
  let open = 0
  let maxOpen = 0
  const later = (fn) => setTimeout(fn, delay)
  const wx = {
    calls,
    modals,
    get maxOpen() { return maxOpen },
    request() { throw new Error('no network here') },
    login() {},
    getStorageSync: () => '',
    setStorageSync() {},
    removeStorageSync() {},
    getSetting({ success }) { calls.getSetting++; later(() => success({ authSetting: { ...state } })) },
    authorize({ scope, success, fail }) {
      calls.authorize++
      later(() => {
        if (state[scope] === true) return success({})
        if (state[scope] === false || authorize === 'deny') { state[scope] = false; return fail({ errMsg: 'authorize:fail auth deny' }) }
        state[scope] = true
        success({})
      })
    },
    showModal(o) {
      calls.showModal++
      modals.push({ title: o.title, content: o.content })
      open++
      maxOpen = Math.max(maxOpen, open)
      later(() => { open--; o.success({ confirm, cancel: !confirm }) })
    },
    openSetting({ success }) {
      calls.openSetting++
      later(() => {
        // The user turns on every switch (true), none (false), or the first one that is off ('one').
        for (const k of Object.keys(state)) {
          if (grantInSettings === 'one' && state[k] === false) { state[k] = true; break }
          if (grantInSettings === true) state[k] = true
        }
        success({ authSetting: { ...state } })
      })
    },
  }
  return wx
}

test('ensureScope: granted already, never asked, refused (modal → settings), cancelled; concurrent calls share one flow', async () => {
  const S = 'scope.userLocation'
  const rows = {}

  let wx = fakeUI({ [S]: true })
  let auth = createClient({ baseURL: 'https://auth.example.com', wx })
  assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map(() => auth.ensureScope(S))), [true, true, true, true, true])
  assert.deepEqual(wx.calls, { getSetting: 1, authorize: 0, showModal: 0, openSetting: 0 })
  rows.granted = { ...wx.calls }

  wx = fakeUI({}, { authorize: 'allow' })
  auth = createClient({ baseURL: 'https://auth.example.com', wx })
  assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map(() => auth.ensureScope(S))), [true, true, true, true, true])
  assert.deepEqual(wx.calls, { getSetting: 1, authorize: 1, showModal: 0, openSetting: 0 })
  assert.equal(await auth.ensureScope(S), true) // a later call: a new flow, granted now
  assert.deepEqual(wx.calls, { getSetting: 2, authorize: 1, showModal: 0, openSetting: 0 })
  rows['never asked, allowed (5 concurrent, then 1)'] = { ...wx.calls }

  wx = fakeUI({ [S]: false })
  auth = createClient({ baseURL: 'https://auth.example.com', wx })
  const modal = { title: '需要位置权限', content: '用于查找附近的门店' }
  assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map(() => auth.ensureScope(S, modal))), [true, true, true, true, true])
  assert.deepEqual(wx.calls, { getSetting: 1, authorize: 1, showModal: 1, openSetting: 1 })
  assert.deepEqual(wx.modals, [modal])
  rows['refused earlier → modal → settings, granted (5 concurrent)'] = { ...wx.calls }

  wx = fakeUI({}, { authorize: 'deny', confirm: false })
  auth = createClient({ baseURL: 'https://auth.example.com', wx })
  assert.deepEqual(await Promise.all([1, 2, 3].map(() => auth.ensureScope(S, modal))), [false, false, false])
  assert.deepEqual(wx.calls, { getSetting: 1, authorize: 1, showModal: 1, openSetting: 0 })
  rows['refused now → modal cancelled (3 concurrent)'] = { ...wx.calls }

  wx = fakeUI({ [S]: false }, { grantInSettings: false })
  auth = createClient({ baseURL: 'https://auth.example.com', wx })
  assert.equal(await auth.ensureScope(S), false)
  assert.deepEqual(wx.calls, { getSetting: 1, authorize: 1, showModal: 1, openSetting: 1 })

  // Two scopes at once: one flow each, one dialog at a time.
  wx = fakeUI({ [S]: false, 'scope.camera': false }, { grantInSettings: 'one' })
  auth = createClient({ baseURL: 'https://auth.example.com', wx })
  const both = await Promise.all([auth.ensureScope(S), auth.ensureScope('scope.camera'), auth.ensureScope(S), auth.ensureScope('scope.camera')])
  assert.deepEqual(both, [true, true, true, true])
  assert.equal(wx.calls.showModal, 2)
  assert.equal(wx.maxOpen, 1)
  rows['two scopes, 2 concurrent calls each'] = { ...wx.calls, maxModalsOpenAtOnce: wx.maxOpen }

  const webAuth = createClient({ baseURL: 'https://auth.example.com', platform: 'web', window: fakeWindow() })
  await assert.rejects(webAuth.ensureScope(S), { code: 'not_supported' })
  record('ensureScope', rows)
})

// ---------------------------------------------------------------------------
// Origins, storage, tokens, PKCE.

test('originOf reads only plain http(s) origins', () => {
  assert.equal(originOf('https://API.example.com:443/x?y#z'), 'https://api.example.com')
  assert.equal(originOf('http://127.0.0.1:8080'), 'http://127.0.0.1:8080')
  assert.equal(originOf('http://h:80/'), 'http://h')
  assert.equal(originOf('https://[::1]:8443/a'), 'https://[::1]:8443')
  for (const bad of ['https://api.example.com@evil.com/', 'https://evil.com\\@api.example.com/', 'https://evil.com\\api.example.com',
    'ftp://api.example.com/', '//api.example.com/x', 'https://api.exa%6Dple.com/', 'https:///x', 'javascript:alert(1)']) {
    assert.equal(originOf(bad), null, bad)
  }
})

test('the token is never sent to a third origin, however the URL is written', async () => {
  const sent = []
  const wx = {
    request(o) { sent.push([o.url, o.header.Authorization || null]); setImmediate(() => o.success({ statusCode: 200, data: {}, header: {} })) },
    login() {},
    getStorageSync: (k) => ({ [STORAGE_KEYS.accessToken]: 'tok', [STORAGE_KEYS.refreshToken]: 'r', [STORAGE_KEYS.expiresAt]: String(Date.now() + 3600_000) })[k] || '',
    setStorageSync() {},
    removeStorageSync() {},
  }
  const auth = createClient({ baseURL: 'https://auth.example.com', apiBaseURL: 'https://api.example.com/v2', wx })
  const ours = ['/orders', 'orders', 'https://auth.example.com/v1/me', 'HTTPS://API.EXAMPLE.COM:443/x', 'https://api.example.com/other']
  const theirs = ['https://evil.com/', 'https://api.example.com@evil.com/', 'https://evil.com\\@api.example.com/',
    'http://api.example.com/', 'https://api.example.com:444/', 'https://api.example.com.evil.com/', 'https://evil.com/?u=https://api.example.com/']
  for (const u of [...ours, ...theirs]) await auth.request({ url: u, header: { 'X-Test': '1' } })
  const auths = Object.fromEntries(sent.map(([u, a]) => [u, a]))
  assert.equal(auths['https://api.example.com/v2/orders'], 'Bearer tok')
  for (const u of ours.slice(2)) assert.equal(auths[u], 'Bearer tok', u)
  for (const u of theirs) assert.equal(auths[u], null, u)
  // A caller's own Authorization header to a third origin is left alone.
  await auth.request({ url: 'https://partner.example.net/', header: { Authorization: 'Basic x' } })
  assert.equal(sent.at(-1)[1], 'Basic x')
})

test('custom async storage under the exact keys; tokens survive a restart', async () => {
  const srv = await tinyServer(() => [200, tokens()])
  try {
    const data = new Map()
    const storage = {
      get: async (k) => data.get(k) ?? null,
      set: async (k, v) => { data.set(k, v) },
      remove: async (k) => { data.delete(k) },
    }
    const wx = plainWx()
    const auth = createClient({ baseURL: srv.base, wx, storage })
    const t = await auth.login()
    assert.deepEqual([...data.keys()].sort(), ['wxauth.access_token', 'wxauth.expires_at', 'wxauth.refresh_token'])
    assert.equal(data.get('wxauth.access_token'), t.access_token)
    assert.ok(Math.abs(Number(data.get('wxauth.expires_at')) - (Date.now() + 3600_000)) < 5000)
    assert.equal(wx.store.size, 0) // the wx storage was not used
    const again = createClient({ baseURL: srv.base, wx, storage })
    assert.equal(await again.getAccessToken(), t.access_token)
    assert.equal(wx.calls.login, 1)
  } finally {
    await srv.close()
  }
})

test('token lifetime from the JWT; margin min(60 s, lifetime/10)', () => {
  assert.equal(tokenLifetimeMs(fakeJWT(7200)), 7200_000)
  assert.equal(tokenLifetimeMs('not-a-jwt'), 0)
})

test('PKCE: S256 challenge, with and without crypto.subtle', async () => {
  // RFC 7636 appendix B.
  const v = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
  assert.equal(await challengeFor(v, globalThis.crypto), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')
  assert.equal(await challengeFor(v, null), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')
  for (const n of [0, 1, 55, 56, 63, 64, 65, 1000]) {
    const s = 'x'.repeat(n)
    assert.equal(Buffer.from(sha256(new TextEncoder().encode(s))).toString('hex'), createHash('sha256').update(s).digest('hex'))
  }
})

test('platform detection: uni before wx, the JS-SDK\'s wx is not a mini program', () => {
  const saved = { wx: globalThis.wx, uni: globalThis.uni }
  try {
    globalThis.wx = { config() {}, ready() {} } // jweixin on an H5 page
    assert.equal(createClient({ baseURL: 'https://a', window: fakeWindow() }).platform, 'web')
    globalThis.wx = { request() {}, login() {}, getStorageSync() {}, setStorageSync() {}, removeStorageSync() {} }
    assert.equal(createClient({ baseURL: 'https://a' }).platform, 'wx')
    globalThis.uni = { request() {}, login() {}, getStorageSync() {}, setStorageSync() {}, removeStorageSync() {} }
    assert.equal(createClient({ baseURL: 'https://a' }).platform, 'uni')
    assert.equal(createClient({ baseURL: 'https://a', platform: 'web', window: fakeWindow() }).platform, 'web')
  } finally {
    for (const k of ['wx', 'uni']) if (saved[k] === undefined) delete globalThis[k]; else globalThis[k] = saved[k]
  }
})

test('platform detection and options', async () => {
  assert.throws(() => createClient({}), /baseURL/)
  assert.throws(() => createClient({ baseURL: 'ftp://x' }), /http/)
  assert.throws(() => createClient({ baseURL: 'https://a', platform: 'ios' }), /platform/)
  const web = createClient({ baseURL: 'https://a', window: fakeWindow() })
  assert.equal(web.platform, 'web')
  await assert.rejects(web.login(), { code: 'not_supported' })
  assert.throws(() => web.on('nope', () => {}), /unknown event/)
  const off = web.on('login', () => {})
  assert.equal(typeof off, 'function')
  off()
  await sleep(0)
})
