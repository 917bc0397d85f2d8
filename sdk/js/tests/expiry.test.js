// Access-token expiry against a real `wxauth dev` with 2 s access tokens
// (WXAUTH_ACCESS_TTL) and a 1 s reuse grace window (WXAUTH_REUSE_GRACE). The
// dev server runs on the real clock, so these cases sleep past expiry.

import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, STORAGE_KEYS } from '../index.js'
import { delta, fakeMiniProgram, http, printSummary, record, short, sleep, startServer } from './support.js'

const TTL_MS = 2000
after(() => printSummary('expiry.test.js'))

// Each case waits for tokens to expire, so the cases run at once, each with
// a server of its own (the counters stay apart).
function withServer(fn) {
  return async () => {
    const srv = await startServer({ WXAUTH_ACCESS_TTL: '2s', WXAUTH_REUSE_GRACE: '1s' })
    try {
      await fn(srv, (wx) => createClient({ baseURL: srv.base, app: 'mp', wx }))
    } finally {
      await srv.stop()
    }
  }
}

// expire waits until the access token in storage has expired at the server.
async function expire(wx) {
  const at = Number(wx.store.get(STORAGE_KEYS.expiresAt))
  await sleep(Math.max(0, at - Date.now()) + 1100) // JWT exp has 1 s granularity
}

describe('access-token expiry', { concurrency: true }, () => {
  test('20 requests after the access token expired: one refresh, 20 successes (proactive)', withServer(async (srv, mpClient) => {
    const wx = fakeMiniProgram(srv, await srv.newUser('proactive'))
    const auth = mpClient(wx)
    const refreshes = []
    auth.on('refresh', (r) => refreshes.push(r))
    await auth.login()
    const oldAccess = wx.store.get(STORAGE_KEYS.accessToken)
    await expire(wx)
    const before = await srv.counters()
    const results = await Promise.all(Array.from({ length: 20 }, () => auth.request({ url: '/v1/me' })))
    const d = delta(before, await srv.counters())
    assert.ok(results.every((r) => r.statusCode === 200))
    assert.equal(d[http('POST /v1/token/refresh', 200)], 1)
    assert.equal(d[http('GET /v1/me', 200)], 20)
    assert.equal(d[http('GET /v1/me', 401)], undefined, 'the SDK knew the token had expired: no 401')
    assert.equal(d[http('POST /v1/miniprogram/login', 200)], undefined)
    assert.equal(refreshes.length, 1)
    assert.notEqual(wx.store.get(STORAGE_KEYS.accessToken), oldAccess)
    record('20 requests after expiry (SDK sees the expiry itself)', { 'wx.login': wx.calls.login - 1, ...short(d) })
  }))

  test('20 requests answered 401 token_expired: one refresh, each replayed once', withServer(async (srv, mpClient) => {
    const wx = fakeMiniProgram(srv, await srv.newUser('reactive'))
    await mpClient(wx).login()
    await expire(wx)
    // The device's expires_at says "valid for an hour" (a clock change, or
    // storage from another build): the server is the one to say it expired.
    wx.store.set(STORAGE_KEYS.expiresAt, String(Date.now() + 3600_000))
    const auth = mpClient(wx) // the app restarted: it reads storage afresh
    const before = await srv.counters()
    const results = await Promise.all(Array.from({ length: 20 }, () => auth.request({ url: '/v1/me' })))
    const d = delta(before, await srv.counters())
    assert.ok(results.every((r) => r.statusCode === 200))
    assert.equal(d[http('GET /v1/me', 401)], 20)
    assert.equal(d[http('POST /v1/token/refresh', 200)], 1)
    assert.equal(d[http('GET /v1/me', 200)], 20)
    assert.equal(d[http('POST /v1/miniprogram/login', 200)], undefined)
    record('20 requests with an expired token the SDK believed valid', short(d))
  }))

  test('getAccessToken refreshes within a tenth of the lifetime; refresh() is shared', withServer(async (srv, mpClient) => {
    const wx = fakeMiniProgram(srv, await srv.newUser('margin'))
    const auth = mpClient(wx)
    const first = await auth.login()
    const at = Number(wx.store.get(STORAGE_KEYS.expiresAt))
    // Outside the margin (min(60 s, 2 s / 10) = 200 ms): no refresh.
    let before = await srv.counters()
    assert.equal(await auth.getAccessToken(), first.access_token)
    assert.equal(delta(before, await srv.counters())[http('POST /v1/token/refresh', 200)], undefined)
    // Inside it: one refresh, shared by everyone asking.
    await sleep(Math.max(0, at - Date.now() - 100))
    before = await srv.counters()
    const tokens = await Promise.all([auth.getAccessToken(), auth.getAccessToken(), auth.refresh().then((r) => r.access_token)])
    const d = delta(before, await srv.counters())
    assert.equal(d[http('POST /v1/token/refresh', 200)], 1)
    assert.notEqual(tokens[0], first.access_token)
    assert.equal(new Set(tokens).size, 1)
    assert.ok(TTL_MS / 10 < 60_000)
    record('getAccessToken 100 ms before expiry, x2, with refresh()', short(d))
  }))

  test('expired and revoked: the refresh answers invalid_grant, one re-login', withServer(async (srv, mpClient) => {
    const user = await srv.newUser('gone')
    const wx = fakeMiniProgram(srv, user)
    const auth = mpClient(wx)
    await auth.login()
    // Another device of the same user ends every session.
    const other = mpClient(fakeMiniProgram(srv, user))
    await other.login()
    await other.logout({ all: true })
    await expire(wx)
    const before = await srv.counters()
    const results = await Promise.all(Array.from({ length: 10 }, () => auth.request({ url: '/v1/me' })))
    const d = delta(before, await srv.counters())
    assert.ok(results.every((r) => r.statusCode === 200))
    assert.equal(d[http('POST /v1/token/refresh', 401)], 1)
    assert.equal(d[http('POST /v1/miniprogram/login', 200)], 1)
    assert.equal(d[http('GET /v1/me', 200)], 10)
    assert.equal(wx.calls.login, 2)
    record('10 requests, token expired and session logged out elsewhere', { 'wx.login (after the first login)': 1, ...short(d) })
  }))

  test('a stale copy of the refresh token after the grace window: refresh_token_reused, one re-login', withServer(async (srv, mpClient) => {
    const user = await srv.newUser('reuse')
    const wx = fakeMiniProgram(srv, user)
    const auth = mpClient(wx)
    await auth.login()
    const stale = new Map(wx.store) // a copy of storage taken now
    await auth.refresh() // rotates the refresh token
    await sleep(1200) // past the 1 s grace window
    await expire(wx)
    const wx2 = fakeMiniProgram(srv, user)
    for (const [k, v] of stale) wx2.store.set(k, v)
    const auth2 = mpClient(wx2)
    const before = await srv.counters()
    const res = await auth2.request({ url: '/v1/me' })
    const d = delta(before, await srv.counters())
    assert.equal(res.statusCode, 200)
    assert.equal(d[http('POST /v1/token/refresh', 401)], 1)
    assert.equal(d.wxauth_refresh_reuse_detected_total, 1)
    assert.equal(d[http('POST /v1/miniprogram/login', 200)], 1)
    assert.equal(wx2.calls.login, 1)
    // The reuse revoked the whole session: the first client finds out and logs in again.
    const before1 = await srv.counters()
    const res1 = await auth.request({ url: '/v1/me' })
    const d1 = delta(before1, await srv.counters())
    assert.equal(res1.statusCode, 200)
    assert.equal(wx.calls.login, 2)
    record('a replayed old refresh token (the stale copy)', { reuse_detected: d.wxauth_refresh_reuse_detected_total, ...short(d) })
    record('… then the client that held the live token', short(d1))
  }))
})
