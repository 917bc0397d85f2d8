// Noticing an account switch on H5 (docs/h5.md "Noticing an account
// switch"): the WeChat account on the phone may change while the page keeps
// a session. With options.checkAccount = {every}, handleRedirect runs, at
// most once per `every`, a silent snsapi_base round trip marked check=1,
// and posts what comes back to /v1/oauth/wechat/check with the session.
// This module keeps the timing; redirect.js runs the round trip.

export const CHECKED_AT_KEY = 'wxauth.account_checked_at' // the client's storage: ms of the last check or login
export const CHECK_KEY = 'wxauth.account_check' // sessionStorage: the page a check in flight returns to

const UNITS = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 }

// parseEvery reads `every`: milliseconds, or a string such as "90s", "30m",
// "24h", "7d". Anything else is a TypeError at createClient.
export function parseEvery(every) {
  if (typeof every === 'number' && every > 0 && Number.isFinite(every)) return every
  const m = typeof every === 'string' && /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(every.trim())
  if (!m || Number(m[1]) <= 0) {
    throw new TypeError(`wxauth: checkAccount.every is a duration such as "24h", "30m", "90s" or milliseconds, not ${JSON.stringify(every)}`)
  }
  return Number(m[1]) * UNITS[m[2]]
}

// createAccountCheck: option (options.checkAccount, may be absent), storage
// {get, set} (the client's). Answers null when the option is absent.
export function createAccountCheck(option, storage) {
  if (!option) return null
  const every = parseEvery(option.every)
  return {
    // due: no check (nor login) recorded within `every`.
    async due() {
      const at = Number(await storage.get(CHECKED_AT_KEY)) || 0
      return Date.now() - at >= every
    },
    // mark records a check started, or a login (which is as good as a
    // check); written before the round trip, so that a check that fails
    // is not retried on every load.
    async mark() {
      await storage.set(CHECKED_AT_KEY, String(Date.now()))
    },
  }
}

// inWeChat: an Official Account's page, and so a check, opens only in
// WeChat's in-app browser.
export function inWeChat(w) {
  const ua = (w.navigator && w.navigator.userAgent) || ''
  return /MicroMessenger/i.test(ua)
}
