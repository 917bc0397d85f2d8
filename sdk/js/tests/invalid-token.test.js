// A 401 invalid_token — an access token the server cannot verify (signed by
// a key it no longer has; here, a damaged signature) — against a real
// `wxauth dev`: one refresh and one retry, as for token_expired; a refused
// refresh ends the session (mini program: a new login; H5: onLoginRequired).
// The Go client (package client, TestInvalidToken) follows the same rule.

import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, memoryStorage, STORAGE_KEYS } from '../index.js'
import { delta, fakeMiniProgram, http, printSummary, record, short, startServer } from './support.js'

let srv

before(async () => { srv = await startServer() })
after(async () => {
  await srv?.stop()
  printSummary('invalid-token.test.js')
})

// tamper spoils a JWT's signature.
function tamper(jwt) {
  const i = jwt.lastIndexOf('.')
  const c = jwt[i + 1] === 'A' ? 'B' : 'A'
  return jwt.slice(0, i + 1) + c + jwt.slice(i + 2)
}

// loggedIn answers a fake wx whose storage holds a session with a damaged
// access token (and, with refusedRefresh, a logged-out session).
async function loggedIn(name, { refusedRefresh = false } = {}) {
  const wx = fakeMiniProgram(srv, await srv.newUser(name))
  const first = createClient({ baseURL: srv.base, app: 'mp', wx })
  const login = await first.login()
  if (refusedRefresh) {
    const res = await fetch(`${srv.base}/v1/logout`, { method: 'POST', headers: { Authorization: `Bearer ${login.access_token}` }, body: '{}' })
    assert.equal(res.status, 204)
  }
  const me = await fetch(`${srv.base}/v1/me`, { headers: { Authorization: `Bearer ${tamper(login.access_token)}` } })
  assert.equal(me.status, 401)
  assert.equal((await me.json()).error, 'invalid_token')
  wx.store.set(STORAGE_KEYS.accessToken, tamper(login.access_token))
  return { wx, login }
}

test('mini program: invalid_token → one refresh, the request retried, no new login', async () => {
  const { wx, login } = await loggedIn('badsig')
  const auth = createClient({ baseURL: srv.base, app: 'mp', wx }) // reads the damaged token from storage
  const refreshes = []
  auth.on('refresh', (r) => refreshes.push(r))
  const logins = wx.calls.login
  const before = await srv.counters()
  const results = await Promise.all(Array.from({ length: 5 }, () => auth.request('/v1/me')))
  const d = delta(before, await srv.counters())
  assert.ok(results.every((r) => r.statusCode === 200 && r.data.id === login.user.id))
  assert.equal(d[http('POST /v1/token/refresh', 200)], 1)
  assert.equal(d[http('GET /v1/me', 401)], 5)
  assert.equal(d[http('GET /v1/me', 200)], 5)
  assert.equal(d[http('POST /v1/miniprogram/login', 200)], undefined)
  assert.equal(wx.calls.login, logins)
  assert.equal(refreshes.length, 1)
  assert.equal(wx.store.get(STORAGE_KEYS.accessToken), refreshes[0].access_token)
  record('invalid_token, refresh works (5 requests)', short(d))
})

test('mini program: invalid_token and a refused refresh → a new login, the request retried once', async () => {
  const { wx, login } = await loggedIn('badsig-gone', { refusedRefresh: true })
  const auth = createClient({ baseURL: srv.base, app: 'mp', wx })
  const logins = wx.calls.login
  const before = await srv.counters()
  const me = await auth.request('/v1/me')
  const d = delta(before, await srv.counters())
  assert.equal(me.statusCode, 200)
  assert.equal(me.data.id, login.user.id)
  assert.equal(d[http('GET /v1/me', 401)], 1)
  assert.equal(d[http('POST /v1/token/refresh', 401)], 1)
  assert.equal(d[http('POST /v1/miniprogram/login', 200)], 1)
  assert.equal(d[http('GET /v1/me', 200)], 1)
  assert.equal(wx.calls.login, logins + 1)
  record('invalid_token, refresh refused (mini program)', short(d))
})

test('H5: invalid_token and a refused refresh → onLoginRequired, the request rejects', async () => {
  const { login } = await loggedIn('badsig-h5', { refusedRefresh: true })
  const storage = memoryStorage()
  storage.set(STORAGE_KEYS.accessToken, tamper(login.access_token))
  storage.set(STORAGE_KEYS.refreshToken, login.refresh_token)
  storage.set(STORAGE_KEYS.expiresAt, String(Date.now() + login.expires_in * 1000))
  const required = []
  const auth = createClient({ baseURL: srv.base, platform: 'web', window: {}, fetch, storage, onLoginRequired: (info) => { required.push(info) } })
  const before = await srv.counters()
  await assert.rejects(auth.request('/v1/me'), { code: 'invalid_grant', status: 401 })
  const d = delta(before, await srv.counters())
  assert.equal(required.length, 1)
  assert.equal(required[0].error.code, 'invalid_grant')
  assert.equal(storage.get(STORAGE_KEYS.accessToken), null)
  assert.equal(d[http('GET /v1/me', 401)], 1)
  assert.equal(d[http('POST /v1/token/refresh', 401)], 1)
  record('invalid_token, refresh refused (H5)', short(d))
})
