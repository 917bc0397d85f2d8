// The mini program login: wx.login (or uni.login) → POST
// /v1/miniprogram/login, one at a time.

import { NEW_CODE_HELPS, WxAuthError, httpError } from './errors.js'
import { noop, singleFlight } from './singleflight.js'

// createLogin: env (platform.js), app, post(path, body), tokens (tokens.js),
// events (events.js), refreshInFlight() the refresh promise in flight or
// null, epoch() the logout counter (a login finishing after a logout is
// dropped).
export function createLogin({ env, app, post, tokens, events, refreshInFlight, epoch }) {
  const flight = singleFlight(async (opts) => {
    const refresh = refreshInFlight()
    if (refresh) await refresh.catch(noop)
    const startEpoch = epoch()
    let lastErr
    for (let attempt = 0; attempt < 2; attempt++) {
      const code = await env.login()
      const body = { code }
      if (app) body.app = app
      if (opts.inviter) body.inviter = opts.inviter
      const res = await post('/v1/miniprogram/login', body)
      if (res.statusCode === 200 && res.data && typeof res.data === 'object') {
        if (epoch() !== startEpoch) throw new WxAuthError('logged_out', 0, 'wxauth: logout() was called during the login')
        if (res.data.bind_required) {
          await tokens.clear()
          events.notifyLoginRequired({ bindRequired: true, bindTicket: res.data.bind_ticket }).catch(noop)
          return res.data
        }
        await tokens.save(res.data, true)
        events.emit('login', res.data)
        return res.data
      }
      lastErr = httpError(res)
      if (!NEW_CODE_HELPS.has(lastErr.code)) break
    }
    throw lastErr
  })

  function login(opts = {}) {
    if (!env.miniProgram) {
      return Promise.reject(new WxAuthError('not_supported', 0, 'wxauth: login() is for mini programs; H5 pages use startWeChatLogin()'))
    }
    return flight(opts)
  }
  login.current = flight.current
  return login
}
