// Errors reject with a WxAuthError: an Error whose `code` is the contract's
// error code (docs/api.md "Errors": invalid_code, token_expired, …) and whose
// `status` is the HTTP status (0 when no HTTP answer was involved).

export class WxAuthError extends Error {
  constructor(code, status, message, extra) {
    super(message || code)
    this.name = 'WxAuthError'
    this.code = code
    this.status = status
    if (extra) Object.assign(this, extra)
  }
}

export function header(res, name) {
  const h = (res && res.header) || {}
  const lower = name.toLowerCase()
  for (const k of Object.keys(h)) if (k.toLowerCase() === lower) return h[k]
  return undefined
}

// errorCode is the contract error code of an answer, if it has one.
export function errorCode(res) {
  const d = res && res.data
  return d && typeof d === 'object' && typeof d.error === 'string' ? d.error : null
}

// httpError turns an answer with status ≥ 400 into a WxAuthError.
export function httpError(res) {
  const d = res.data && typeof res.data === 'object' ? res.data : {}
  const code = errorCode(res) || `http_${res.statusCode}`
  const extra = { response: res }
  if (typeof d.wechat_errcode === 'number') extra.wechatErrcode = d.wechat_errcode
  const retryAfter = header(res, 'Retry-After')
  if (retryAfter !== undefined) extra.retryAfter = Number(retryAfter)
  return new WxAuthError(code, res.statusCode, d.error_description || `${code} (HTTP ${res.statusCode})`, extra)
}

// What an error code means to the client's flows (docs/api.md "Errors"); the Go
// client (package client) follows the same rules.
//
// REFRESH_HELPS: a 401 about the access token only — expired, or one the
// server cannot verify (invalid_token: signed by a key it no longer has,
// damaged in storage). The session may be alive: one refresh (shared), then
// the request once more.
export const REFRESH_HELPS = new Set(['token_expired', 'invalid_token'])
// SESSION_GONE: the session cannot be refreshed; clear the tokens and log in
// again (mini program) or call onLoginRequired (H5).
export const SESSION_GONE = new Set(['invalid_grant', 'refresh_token_reused', 'session_revoked'])
// NEW_CODE_HELPS: a login refused so is tried once more with a new wx.login
// code (wxauth never retries a code exchange itself: docs/api.md "Errors").
export const NEW_CODE_HELPS = new Set(['wechat_unavailable', 'invalid_code'])
