// tokenHeader against a real `wxauth dev` started with
// WXAUTH_TOKEN_HEADER=X-Wx-Ticket: the SDK sends `X-Wx-Ticket: <token>`
// and no Authorization on its authenticated requests, and the server reads
// it (it would answer 401 without a token, 400 for two different ones).

import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient } from '../index.js'
import { delta, fakeMiniProgram, http, printSummary, record, short, startServer } from './support.js'

let srv

before(async () => { srv = await startServer({ WXAUTH_TOKEN_HEADER: 'X-Wx-Ticket' }) })
after(async () => {
  await srv?.stop()
  printSummary('token-header.test.js')
})

// recording wraps a fake wx so that every request's headers are kept.
function recording(wx) {
  const headers = []
  const request = wx.request
  wx.request = (opts) => {
    headers.push({ url: opts.url, header: { ...(opts.header || {}) } })
    return request(opts)
  }
  return headers
}

test('tokenHeader: X-Wx-Ticket instead of Authorization, and the server reads it', async () => {
  const wx = fakeMiniProgram(srv, await srv.newUser('ticket'))
  const sent = recording(wx)
  const auth = createClient({ baseURL: srv.base, app: 'mp', wx, tokenHeader: 'X-Wx-Ticket' })
  const before = await srv.counters()
  const me = await auth.request({ url: '/v1/me' })
  assert.equal(me.statusCode, 200)
  assert.ok(me.data.id)
  const d = delta(before, await srv.counters())
  assert.equal(d[http('GET /v1/me', 200)], 1)
  assert.equal(d[http('GET /v1/me', 401)], undefined)
  const mine = sent.filter((s) => s.url.endsWith('/v1/me'))
  assert.equal(mine.length, 1)
  const token = await auth.getAccessToken()
  assert.equal(mine[0].header['X-Wx-Ticket'], token)
  assert.ok(!Object.keys(mine[0].header).some((k) => k.toLowerCase() === 'authorization'), 'no Authorization header')

  // The server's side: no header at all is 401; the raw token in
  // X-Wx-Ticket is the user; another token beside it in Authorization is 400.
  assert.equal((await fetch(`${srv.base}/v1/me`)).status, 401)
  const raw = await fetch(`${srv.base}/v1/me`, { headers: { 'X-Wx-Ticket': token } })
  assert.equal(raw.status, 200)
  assert.equal((await raw.json()).id, me.data.id)
  const two = await fetch(`${srv.base}/v1/me`, { headers: { 'X-Wx-Ticket': token, Authorization: 'Bearer someone-else' } })
  assert.equal(two.status, 400)
  assert.equal((await two.json()).error, 'invalid_request')

  // A caller's own X-Wx-Ticket is replaced by the session's token; auth:
  // false sends none.
  const own = await auth.request({ url: '/v1/me', header: { 'x-wx-ticket': 'stale' } })
  assert.equal(own.data.id, me.data.id)
  await assert.rejects(auth.request({ url: '/v1/me', auth: false }), (e) => e.status === 401)
  const last = sent.filter((s) => s.url.endsWith('/v1/me')).at(-1)
  assert.deepEqual(Object.keys(last.header).filter((k) => /ticket|authorization/i.test(k)), [])

  // Logout goes through the header too: the token stops working at once.
  await auth.logout()
  const after = await fetch(`${srv.base}/v1/me`, { headers: { 'X-Wx-Ticket': token } })
  assert.equal(after.status, 401)
  assert.equal((await after.json()).error, 'session_revoked')
  record('tokenHeader X-Wx-Ticket', { 'wx.login': wx.calls.login, ...short(d) })
})

test('tokenHeader must be a header name of your own', () => {
  for (const bad of ['Authorization', 'authorization', 'X Wx', 'X-Wx:Ticket', 42]) {
    assert.throws(() => createClient({ baseURL: 'http://127.0.0.1:1', platform: 'web', tokenHeader: bad, fetch: () => {} }), TypeError, String(bad))
  }
  assert.doesNotThrow(() => createClient({ baseURL: 'http://127.0.0.1:1', platform: 'web', tokenHeader: 'X-Wx-Ticket', fetch: () => {}, window: {} }))
})
