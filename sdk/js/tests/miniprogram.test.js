// The mini program flows against a real `wxauth dev` (default 2 h access
// tokens): login lock, revoked sessions, stale session_key, logout, the
// third-origin rule, login faults and the uni adapter.

import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, STORAGE_KEYS } from '../index.js'
import {
  MP_APPID, delta, fakeMiniProgram, http, printSummary, record, sandbox, short, startServer, tinyServer,
} from './support.js'

let srv

before(async () => { srv = await startServer() })
after(async () => {
  await srv?.stop()
  printSummary('miniprogram.test.js')
})

function mpClient(wx, extra = {}) {
  return createClient({ baseURL: srv.base, app: 'mp', wx, ...extra })
}

test('20 requests before any login: one wx.login, one login call', async () => {
  const wx = fakeMiniProgram(srv, await srv.newUser('first'))
  const auth = mpClient(wx)
  assert.equal(auth.platform, 'wx')
  const logins = []
  auth.on('login', (r) => logins.push(r))
  const before = await srv.counters()
  const results = await Promise.all(Array.from({ length: 20 }, () => auth.request({ url: '/v1/me' })))
  const d = delta(before, await srv.counters())
  assert.ok(results.every((r) => r.statusCode === 200 && r.data.id === results[0].data.id))
  assert.equal(wx.calls.login, 1)
  assert.equal(d[http('POST /v1/miniprogram/login', 200)], 1)
  assert.equal(d[sandbox('/sns/jscode2session')], 1)
  assert.equal(d[http('GET /v1/me', 200)], 20)
  assert.equal(d[http('GET /v1/me', 401)], undefined)
  assert.equal(logins.length, 1)
  for (const k of Object.values(STORAGE_KEYS)) assert.ok(wx.store.get(k), `storage ${k} set`)
  record('20 requests before any login', { 'wx.login': wx.calls.login, ...short(d) })
})

test('concurrent login() calls share one login; a failure clears the lock', async () => {
  const wx = fakeMiniProgram(srv, await srv.newUser('lock'))
  const auth = mpClient(wx)
  // WeChat fails twice: the login tries a second code once, then gives up.
  await srv.json('POST', '/sandbox/v1/faults', { path: '/sns/jscode2session', errcode: -1, count: 2 })
  const before = await srv.counters()
  const failures = await Promise.allSettled(Array.from({ length: 5 }, () => auth.login()))
  const mid = await srv.counters()
  assert.ok(failures.every((f) => f.status === 'rejected' && f.reason.code === 'wechat_unavailable' && f.reason.status === 502))
  assert.equal(wx.calls.login, 2)
  const d1 = delta(before, mid)
  assert.equal(d1[http('POST /v1/miniprogram/login', 502)], 2)
  // The lock is free again: the next call logs in.
  const ok = await Promise.all([auth.login(), auth.login()])
  assert.equal(ok[0], ok[1])
  assert.ok(ok[0].access_token)
  const d2 = delta(mid, await srv.counters())
  assert.equal(wx.calls.login, 3)
  assert.equal(d2[http('POST /v1/miniprogram/login', 200)], 1)
  record('5 concurrent login() while WeChat fails twice, then 2 more', {
    'wx.login': wx.calls.login, 'failing phase': short(d1), 'next call': short(d2),
  })
})

test('WeChat fails once: the login retries with a new code', async () => {
  const wx = fakeMiniProgram(srv, await srv.newUser('retry'))
  const auth = mpClient(wx)
  await srv.json('POST', '/sandbox/v1/faults', { path: '/sns/jscode2session', errcode: -1, count: 1 })
  const before = await srv.counters()
  const res = await auth.request({ url: '/v1/me' })
  assert.equal(res.statusCode, 200)
  const d = delta(before, await srv.counters())
  assert.equal(wx.calls.login, 2)
  assert.equal(d[http('POST /v1/miniprogram/login', 502)], 1)
  assert.equal(d[http('POST /v1/miniprogram/login', 200)], 1)
  record('one WeChat failure during login', { 'wx.login': wx.calls.login, ...short(d) })
})

test('a session revoked by another client: one re-login, the request succeeds', async () => {
  const user = await srv.newUser('revoked')
  const wxA = fakeMiniProgram(srv, user)
  const wxB = fakeMiniProgram(srv, user)
  const a = mpClient(wxA)
  const b = mpClient(wxB)
  const first = await a.login()
  await b.login()
  // B ends A's session (DELETE /v1/sessions/{id}).
  const del = await b.request({ url: `/v1/sessions/${first.session_id}`, method: 'DELETE' })
  assert.equal(del.statusCode, 204)
  const before = await srv.counters()
  const results = await Promise.all(Array.from({ length: 5 }, () => a.request({ url: '/v1/me' })))
  const d = delta(before, await srv.counters())
  assert.ok(results.every((r) => r.statusCode === 200))
  assert.equal(wxA.calls.login, 2) // the first login and one re-login
  assert.equal(d[http('POST /v1/miniprogram/login', 200)], 1)
  assert.equal(d[http('POST /v1/token/refresh', 200)], undefined)
  assert.equal(d[http('GET /v1/me', 401)], 5)
  assert.equal(d[http('GET /v1/me', 200)], 5)
  record('5 requests on a session deleted by another client', { 'wx.login (after the first login)': wxA.calls.login - 1, ...short(d) })

  // logout({all}) from B ends A's new session too.
  await b.logout({ all: true })
  assert.equal(wxB.store.get(STORAGE_KEYS.accessToken), undefined)
  const before2 = await srv.counters()
  const again = await a.request({ url: '/v1/me' })
  assert.equal(again.statusCode, 200)
  const d2 = delta(before2, await srv.counters())
  assert.equal(wxA.calls.login, 3)
  assert.equal(d2[http('POST /v1/miniprogram/login', 200)], 1)
  record('1 request after another client logged out all sessions', short(d2))
})

test('session_key_expired: one wx.login + login, then a rejection with that code', async () => {
  const user = await srv.newUser('skey')
  const wx = fakeMiniProgram(srv, user)
  const auth = mpClient(wx)
  await auth.login()
  // WeChat replaces the session_key; data the page gets now is made with the
  // new key, which the server does not hold.
  await srv.json('POST', '/sandbox/v1/miniprogram/rotate', { appid: MP_APPID, user })
  const stale = await srv.json('POST', '/sandbox/v1/miniprogram/encrypted', { appid: MP_APPID, user, kind: 'userinfo' })
  const before = await srv.counters()
  await assert.rejects(auth.request({ url: '/v1/miniprogram/userinfo', method: 'POST', data: stale }), (err) => {
    assert.equal(err.code, 'session_key_expired')
    assert.equal(err.status, 409)
    assert.ok(err instanceof Error)
    return true
  })
  const d = delta(before, await srv.counters())
  assert.equal(wx.calls.login, 2)
  assert.equal(d[http('POST /v1/miniprogram/userinfo', 409)], 1)
  assert.equal(d[http('POST /v1/miniprogram/login', 200)], 1)
  assert.equal(d[sandbox('/sns/jscode2session')], 1)
  // The page asks WeChat for the data again: it now decrypts.
  const fresh = await srv.json('POST', '/sandbox/v1/miniprogram/encrypted', { appid: MP_APPID, user, kind: 'userinfo' })
  const ok = await auth.request({ url: '/v1/miniprogram/userinfo', method: 'POST', data: fresh })
  assert.equal(ok.statusCode, 200)
  assert.ok(ok.data.nickname)
  record('session_key_expired', { 'wx.login (after the first login)': wx.calls.login - 1, ...short(d), 'then, with data asked for again': ok.statusCode })
})

test('the wx.login pitfall: the page calls wx.login and drops the code; the SDK recovers', async () => {
  const user = await srv.newUser('pitfall')
  const wx = fakeMiniProgram(srv, user)
  const auth = mpClient(wx)
  await auth.login()
  // The page calls wx.login itself (say, in the getPhoneNumber callback) and
  // never sends the code: WeChat replaced the session_key when it issued it.
  await new Promise((resolve, reject) => wx.login({ success: resolve, fail: reject }))
  const phone = await srv.json('POST', '/sandbox/v1/miniprogram/encrypted', { appid: MP_APPID, user, kind: 'phone' })
  const info = await srv.json('POST', '/sandbox/v1/miniprogram/encrypted', { appid: MP_APPID, user, kind: 'userinfo' })
  const before = await srv.counters()
  const stale = (err) => {
    assert.equal(err.code, 'session_key_expired')
    assert.equal(err.status, 409)
    assert.equal(err.cause, undefined)
    return true
  }
  await assert.rejects(auth.request({
    url: '/v1/miniprogram/phone', method: 'POST', data: { encrypted_data: phone.encrypted_data, iv: phone.iv },
  }), stale)
  const d = delta(before, await srv.counters())
  // The SDK's first login, the page's wx.login, the SDK's recovery.
  assert.equal(wx.calls.login, 3)
  assert.equal(d[http('POST /v1/miniprogram/phone', 409)], 1)
  assert.equal(d[http('POST /v1/miniprogram/login', 200)], 1)
  assert.equal(d[sandbox('/sns/jscode2session')], 1)
  // Data the page got before the recovery stays stale: it is never resent.
  await assert.rejects(auth.request({ url: '/v1/miniprogram/userinfo', method: 'POST', data: info }), stale)
  assert.equal(wx.calls.login, 4)
  // Asked for again after the recovery, the data decrypts.
  const fresh = await srv.json('POST', '/sandbox/v1/miniprogram/encrypted', { appid: MP_APPID, user, kind: 'phone' })
  const ok = await auth.request({
    url: '/v1/miniprogram/phone', method: 'POST', data: { encrypted_data: fresh.encrypted_data, iv: fresh.iv },
  })
  assert.equal(ok.statusCode, 200)
  assert.equal(ok.data.phone_bound, true)
  assert.equal(wx.calls.login, 4)
  record('wx.login pitfall (a code issued, never sent)', { 'wx.login': wx.calls.login, ...short(d), 'then, with data asked for again': ok.statusCode })
})

test('logout clears the tokens even when the server call fails', async () => {
  const wx = fakeMiniProgram(srv, await srv.newUser('logout'))
  const auth = mpClient(wx)
  const events = []
  auth.on('logout', (e) => events.push(e))
  const t = await auth.login()
  const before = await srv.counters()
  await auth.logout()
  const d = delta(before, await srv.counters())
  assert.equal(d[http('POST /v1/logout', 204)], 1)
  for (const k of Object.values(STORAGE_KEYS)) assert.equal(wx.store.get(k), undefined)
  assert.deepEqual(events, [{ all: false }])
  // The old access token is dead at the server.
  const me = await fetch(`${srv.base}/v1/me`, { headers: { Authorization: `Bearer ${t.access_token}` } })
  assert.equal(me.status, 401)
  assert.equal((await me.json()).error, 'session_revoked')

  // A server that cannot be reached: tokens are cleared anyway, and the
  // failure is reported.
  const dwx = fakeMiniProgram(srv, 'nobody')
  const offline = createClient({ baseURL: 'http://127.0.0.1:9', wx: dwx })
  dwx.store.set(STORAGE_KEYS.accessToken, 'a.b.c')
  dwx.store.set(STORAGE_KEYS.refreshToken, 'r')
  dwx.store.set(STORAGE_KEYS.expiresAt, String(Date.now() + 3600_000))
  await assert.rejects(offline.logout(), { code: 'network_error', status: 0 })
  assert.equal(dwx.store.size, 0)
  record('logout', short(d))
})

test('the token goes only to the origins of baseURL and apiBaseURL', async () => {
  const api = await tinyServer(() => [200, { ok: true }])
  const third = await tinyServer((e) => (e.path === '/expired'
    ? [401, { error: 'token_expired', error_description: 'not yours' }]
    : [200, { ok: true }]))
  try {
    const wx = fakeMiniProgram(srv, await srv.newUser('origin'))
    const auth = mpClient(wx, { apiBaseURL: api.base })
    const before = await srv.counters()
    await auth.request({ url: '/orders' }) // relative: apiBaseURL
    await auth.request({ url: `${srv.base}/v1/me` })
    await auth.request({ url: `${third.base}/public` })
    await assert.rejects(auth.request({ url: `${third.base}/expired` }), { code: 'token_expired', status: 401 })
    const d = delta(before, await srv.counters())
    assert.match(api.seen[0].authorization, /^Bearer ey/)
    assert.equal(api.seen[0].path, '/orders')
    assert.equal(third.seen.length, 2)
    assert.ok(third.seen.every((e) => e.authorization === null), 'no token to a third origin')
    assert.equal(d[http('POST /v1/token/refresh', 200)], undefined, 'a third origin\'s 401 refreshes nothing')
    assert.equal(third.count('/expired'), 1, 'and is not retried')
    record('third origin', { 'calls to the third origin': third.seen.length, 'of which with a token': 0, ...short(d) })
  } finally {
    await api.close()
    await third.close()
  }
})

test('uni adapter: uni.login, uni.request, uni storage', async () => {
  const uni = fakeMiniProgram(srv, await srv.newUser('uni'), { kind: 'uni' })
  const auth = createClient({ baseURL: srv.base, uni })
  assert.equal(auth.platform, 'uni')
  const before = await srv.counters()
  const results = await Promise.all(Array.from({ length: 5 }, () => auth.request({ url: '/v1/me' })))
  assert.ok(results.every((r) => r.statusCode === 200))
  const d = delta(before, await srv.counters())
  assert.equal(uni.calls.login, 1)
  assert.equal(d[http('POST /v1/miniprogram/login', 200)], 1)
  assert.ok(uni.store.get(STORAGE_KEYS.accessToken))
  assert.equal(uni.store.get(STORAGE_KEYS.refreshToken).length > 20, true)
  assert.ok(Number(uni.store.get(STORAGE_KEYS.expiresAt)) > Date.now())
  // A new client (the app restarted) reads the session from uni storage.
  const restarted = createClient({ baseURL: srv.base, uni })
  assert.equal((await restarted.request('/v1/me')).statusCode, 200)
  assert.equal(uni.calls.login, 1)
  record('uni: 5 requests before login, then a restart', { 'uni.login': uni.calls.login, ...short(d) })
})
