// checkAccount against a real `wxauth dev`: the silent snsapi_base round
// trip runs at most once per `every` (the client's clock is node:test's
// mock Date; the server's is real), answers "same" for the session's user
// and switches the session for another person. The browser is a stand-in
// (location, history, storage, crypto, fetch, a WeChat User-Agent); the
// sandbox's sandbox_user= plays the phone's WeChat account.

import { after, describe, mock, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, STORAGE_KEYS } from '../index.js'
import { CHECKED_AT_KEY, parseEvery } from '../src/accountcheck.js'
import { delta, http, printSummary, record, short, startServer } from './support.js'

after(() => printSummary('accountcheck.test.js'))

const WECHAT_UA = 'Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.50 NetType/WIFI Language/zh_CN'
const MINUTE = 60000

function storageArea() {
  const m = new Map()
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) }
}

// wechatTab is one tab of WeChat's in-app browser on url.
function wechatTab(url) {
  const tab = {
    left: [], // the URLs the page left for (location.assign or location.replace)
    localStorage: storageArea(),
    sessionStorage: storageArea(),
    crypto: globalThis.crypto,
    fetch,
    navigator: { userAgent: WECHAT_UA },
    location: {
      assign(u) { tab.left.push(u) },
      replace(u) { tab.left.push(u); go(u) },
    },
    history: { state: null, replaceState(_s, _t, u) { go(u) } },
  }
  function go(u) {
    const p = new URL(u, tab.location.href || url)
    Object.assign(tab.location, { href: p.href, origin: p.origin, pathname: p.pathname, search: p.search, hash: p.hash })
  }
  tab.go = go
  go(url)
  return tab
}

// followWeChat is the browser and WeChat after the SDK left for an
// authorize URL: wxauth's 302, WeChat's page approving for `user`
// (sandbox_user=), the 302 back to the page with code and state.
async function followWeChat(authorizeURL, user) {
  const headers = { 'User-Agent': WECHAT_UA }
  const r1 = await fetch(authorizeURL, { redirect: 'manual', headers })
  assert.equal(r1.status, 302, await r1.text())
  const wx = new URL(r1.headers.get('location'))
  wx.searchParams.set('sandbox_user', user)
  const r2 = await fetch(wx.href, { redirect: 'manual', headers })
  assert.equal(r2.status, 302, await r2.text())
  return r2.headers.get('location')
}

describe('checkAccount', () => {
  test('every: a duration string or milliseconds, else a TypeError', () => {
    assert.equal(parseEvery('24h'), 24 * 60 * MINUTE)
    assert.equal(parseEvery('30m'), 30 * MINUTE)
    assert.equal(parseEvery('90s'), 90000)
    assert.equal(parseEvery('7d'), 7 * 24 * 60 * MINUTE)
    assert.equal(parseEvery(1500), 1500)
    for (const bad of ['', '24', 'h', '-1h', '0s', 'soon', 0, -5, null, undefined, {}]) {
      assert.throws(() => parseEvery(bad), TypeError, `parseEvery(${JSON.stringify(bad)})`)
    }
    assert.throws(() => createClient({ baseURL: 'http://127.0.0.1:1', platform: 'web', window: wechatTab('http://127.0.0.1:1/'), checkAccount: { every: 'daily' } }), TypeError)
  })

  test('no check within every; after it the same user answers "same", another person switches the session', async () => {
    const srv = await startServer()
    mock.timers.enable({ apis: ['Date'], now: Date.now() })
    try {
      const tab = wechatTab(`${srv.base}/app/`)
      const auth = createClient({ baseURL: srv.base, app: 'oa', platform: 'web', window: tab, checkAccount: { every: '10m' } })
      const events = []
      auth.on('login', () => events.push('login'))
      auth.on('logout', () => events.push('logout'))

      // A login counts as a check.
      tab.go(await followWeChat(await auth.startWeChatLogin({ scope: 'snsapi_userinfo' }), 'alice'))
      const login = await auth.handleRedirect()
      assert.equal(login.user.nickname, 'Alice')
      assert.equal(tab.localStorage.getItem(CHECKED_AT_KEY), String(Date.now()))
      const left = tab.left.length

      // Reloads within `every`: no round trip.
      for (const wait of [0, 5 * MINUTE, 4 * MINUTE + 59000]) {
        mock.timers.tick(wait)
        const r = await auth.handleRedirect()
        assert.deepEqual(r, { loggedIn: true, bindRequired: false, bindTicket: null, returnTo: null })
        assert.equal(tab.left.length, left, 'no round trip within every')
      }

      // Past `every`: one silent snsapi_base round trip marked check=1.
      mock.timers.tick(1000)
      tab.go(`${srv.base}/app/orders?x=1#top`)
      let r = await auth.handleRedirect()
      assert.equal(r.accountCheck, 'started')
      assert.equal(tab.left.length, left + 1)
      const q = new URL(tab.left.at(-1)).searchParams
      assert.equal(q.get('check'), '1')
      assert.equal(q.get('scope'), 'snsapi_base')
      assert.equal(tab.localStorage.getItem(CHECKED_AT_KEY), String(Date.now()))

      let before = await srv.counters()
      tab.go(await followWeChat(tab.left.at(-1), 'alice'))
      r = await auth.handleRedirect()
      let d = delta(before, await srv.counters())
      assert.equal(r.accountCheck, 'same')
      assert.equal(tab.location.pathname + tab.location.search + tab.location.hash, '/app/orders?x=1#top')
      assert.equal(d[http('POST /v1/oauth/wechat/check', 200)], 1)
      assert.equal(d[http('POST /v1/oauth/wechat/login', 200)], undefined)
      assert.equal(d[http('POST /v1/logout', 204)], undefined)
      record('account check, same user', short(d))

      // Just checked: the next load does nothing.
      r = await auth.handleRedirect()
      assert.equal(r.accountCheck, undefined)
      assert.equal(tab.left.length, left + 1)

      // The phone's WeChat account is bob's now.
      const aliceToken = tab.localStorage.getItem(STORAGE_KEYS.accessToken)
      mock.timers.tick(10 * MINUTE)
      r = await auth.handleRedirect()
      assert.equal(r.accountCheck, 'started')
      before = await srv.counters()
      tab.go(await followWeChat(tab.left.at(-1), 'bob'))
      r = await auth.handleRedirect()
      d = delta(before, await srv.counters())
      assert.equal(r.accountCheck, 'switched')
      assert.equal(r.loggedIn, true)
      assert.notEqual(r.user.id, login.user.id)
      assert.equal(r.isNewUser, true, 'bob comes through snsapi_base for the first time: a new user')
      assert.deepEqual(events, ['login', 'logout', 'login'])
      assert.equal(d[http('POST /v1/oauth/wechat/check', 200)], 1)
      assert.equal(d[http('POST /v1/logout', 204)], 1)
      const me = await auth.request('/v1/me')
      assert.equal(me.data.id, r.user.id)
      const old = await fetch(`${srv.base}/v1/me`, { headers: { Authorization: `Bearer ${aliceToken}` } })
      assert.equal(old.status, 401, "alice's session is over")
      record('account check, another person', short(d))
    } finally {
      mock.timers.reset()
      await srv.stop()
    }
  })
})
