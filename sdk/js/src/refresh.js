// The single-flight refresh: POST /v1/token/refresh, at most one in flight
// per client; every caller meanwhile shares its answer, failure included.

import { SESSION_GONE, WxAuthError, httpError } from './errors.js'
import { noop, singleFlight } from './singleflight.js'

// createRefresh: tokens (tokens.js), post(path, body), loginInFlight() the
// login promise in flight or null, emit(event, payload).
export function createRefresh({ tokens, post, loginInFlight, emit }) {
  return singleFlight(async () => {
    const login = loginInFlight()
    if (login) await login.catch(noop)
    const t = await tokens.read()
    if (!t.refresh) throw new WxAuthError('invalid_grant', 0, 'wxauth: no refresh token; log in')
    const res = await post('/v1/token/refresh', { refresh_token: t.refresh })
    if (res.statusCode !== 200 || !res.data || typeof res.data !== 'object') {
      const err = httpError(res)
      if (SESSION_GONE.has(err.code)) await tokens.clearIfCurrent(t.access)
      throw err
    }
    const now = await tokens.read()
    if (now.refresh === t.refresh) { // not logged out or replaced meanwhile
      await tokens.save(res.data, false)
      emit('refresh', res.data)
    }
    return res.data
  })
}
