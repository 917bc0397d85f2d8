// Platform adapters: one small object per runtime with the same shape,
//
//   { name, request(req) → Promise<{statusCode, data, header}>,
//     login() → Promise<code> (mini programs), storage {get, set, remove},
//     ui {getSetting, authorize, showModalThenOpenSetting} (mini programs),
//     window (H5) }
//
// so that the client itself never touches wx, uni or fetch directly.

import { WxAuthError } from './errors.js'

// detectPlatform names the runtime. uni-app compiled to a WeChat mini program
// defines both `uni` and `wx`, so `uni` wins; the WeChat JS-SDK (jweixin) of
// an H5 page defines a `wx` without wx.request, so it is not a mini program;
// uni-app compiled to H5 has a `uni` and a document, and is the web.
// The runtime's own objects. In mini programs `wx` and `uni` are injected as
// variables, not always as properties of a global object.
/* global wx, uni */
export const root = typeof globalThis !== 'undefined' ? globalThis : typeof self !== 'undefined' ? self : {}
const globalWx = () => (typeof wx !== 'undefined' ? wx : root.wx)
const globalUni = () => (typeof uni !== 'undefined' ? uni : root.uni)

export function detectPlatform(opts = {}) {
  if (opts.platform) {
    if (!['wx', 'uni', 'web'].includes(opts.platform)) {
      throw new TypeError(`wxauth: platform must be 'wx', 'uni' or 'web', not ${JSON.stringify(opts.platform)}`)
    }
    return opts.platform
  }
  if (opts.wx) return 'wx'
  if (opts.uni) return 'uni'
  const hasDocument = typeof root.document !== 'undefined' && typeof root.location !== 'undefined'
  const u = globalUni()
  if (u && typeof u.request === 'function' && !hasDocument) return 'uni'
  const w = globalWx()
  if (w && typeof w.request === 'function' && typeof w.login === 'function') return 'wx'
  return 'web'
}

export function makeEnv(name, opts = {}) {
  if (name === 'wx' || name === 'uni') {
    const api = opts[name] || (name === 'wx' ? globalWx() : globalUni())
    if (!api) throw new TypeError(`wxauth: platform '${name}' but no ${name} object`)
    return {
      name,
      miniProgram: true,
      request: (req) => mpRequest(api, req),
      login: () => mpLogin(api, name),
      storage: opts.storage || mpStorage(api),
      ui: mpUI(api),
      window: null,
    }
  }
  const win = opts.window || root
  const fetchFn = opts.fetch || win.fetch || root.fetch
  if (typeof fetchFn !== 'function') throw new TypeError('wxauth: no fetch in this environment; pass options.fetch')
  return {
    name: 'web',
    miniProgram: false,
    request: (req) => fetchRequest(fetchFn, req),
    login: null,
    storage: opts.storage || webStorage(win),
    ui: null,
    window: win,
  }
}

// ---------------------------------------------------------------------------
// Mini programs: wx and uni share the callback style. Each method is called
// directly, so that tsc checks the calls against MiniProgramApi (index.d.ts),
// which is held to the real wx and uni typings (types/wx, types/uni).

/** @typedef {import('../index.js').MiniProgramApi} MiniProgramApi */

// callback turns a success/fail call into a Promise.
function callback(call) {
  return new Promise((resolve, reject) => call({ success: resolve, fail: reject }))
}

/** @param {MiniProgramApi} api */
function mpRequest(api, req) {
  return new Promise((resolve, reject) => {
    api.request({
      url: req.url,
      method: req.method,
      data: req.data,
      header: req.header,
      timeout: req.timeout,
      dataType: 'json',
      success: (res) => resolve({ statusCode: res.statusCode, data: res.data, header: res.header || /** @type {any} */ (res).headers || {} }),
      fail: (err) => reject(new WxAuthError('network_error', 0, `request to ${req.url} failed: ${(err && err.errMsg) || err}`)),
    })
  })
}

/** @param {MiniProgramApi} api */
async function mpLogin(api, name) {
  let res
  try {
    res = await callback((cb) => api.login(name === 'uni' ? { ...cb, provider: 'weixin' } : cb))
  } catch (err) {
    throw new WxAuthError('wx_login_failed', 0, `${name}.login failed: ${(err && err.errMsg) || err}`)
  }
  if (!res || !res.code) throw new WxAuthError('wx_login_failed', 0, `${name}.login gave no code`)
  return res.code
}

/** @param {MiniProgramApi} api */
function mpStorage(api) {
  const async = typeof api.getStorage === 'function'
  return {
    get: (key) => (async
      ? callback((cb) => api.getStorage({ ...cb, key })).then((r) => (r ? r.data : null), () => null)
      : api.getStorageSync(key) || null),
    set: (key, value) => (async ? callback((cb) => api.setStorage({ ...cb, key, data: value })) : api.setStorageSync(key, value)),
    remove: (key) => (async ? callback((cb) => api.removeStorage({ ...cb, key })).catch(() => {}) : api.removeStorageSync(key)),
  }
}

/** @param {MiniProgramApi} api */
function mpUI(api) {
  if (typeof api.getSetting !== 'function' || typeof api.authorize !== 'function') return null
  return {
    getSetting: () => callback((cb) => api.getSetting(cb)),
    authorize: (scope) => callback((cb) => api.authorize({ ...cb, scope })),
    // openSetting must run from a user's tap: call it inside showModal's
    // success callback itself, not a promise continuation later.
    showModalThenOpenSetting: (scope, modal) => new Promise((resolve) => {
      api.showModal({
        ...modal,
        success: (r) => {
          if (!r || !r.confirm) return resolve(false)
          api.openSetting({
            success: (s) => resolve(!!(s && s.authSetting && s.authSetting[scope])),
            fail: () => resolve(false),
          })
        },
        fail: () => resolve(false),
      })
    }),
  }
}

// ---------------------------------------------------------------------------
// Browsers: fetch, localStorage.

export function queryString(data) {
  if (data == null) return ''
  if (typeof data === 'string') return data
  return Object.keys(data)
    .filter((k) => data[k] !== undefined && data[k] !== null)
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(data[k])}`)
    .join('&')
}

function isRawBody(data) {
  if (typeof data === 'string') return true
  const g = root
  return ['ArrayBuffer', 'Blob', 'FormData', 'URLSearchParams', 'ReadableStream']
    .some((t) => typeof g[t] === 'function' && data instanceof g[t]) || ArrayBuffer.isView(data)
}

async function fetchRequest(fetchFn, req) {
  const method = (req.method || 'GET').toUpperCase()
  const headers = { ...(req.header || {}) }
  let url = req.url
  let body
  if (req.data != null) {
    if (method === 'GET' || method === 'HEAD') {
      const qs = queryString(req.data)
      if (qs) url += (url.includes('?') ? '&' : '?') + qs
    } else if (isRawBody(req.data)) {
      body = req.data
    } else {
      body = JSON.stringify(req.data)
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json'
    }
  }
  let controller = null
  let timer = null
  if (req.timeout && typeof AbortController === 'function') {
    controller = new AbortController()
    timer = setTimeout(() => controller.abort(), req.timeout)
  }
  let res
  let text
  try {
    res = await fetchFn(url, { method, headers, body, signal: controller ? controller.signal : undefined })
    text = await res.text()
  } catch (err) {
    throw new WxAuthError('network_error', 0, `request to ${req.url} failed: ${(err && err.message) || err}`)
  } finally {
    if (timer) clearTimeout(timer)
  }
  let data = text
  if (text) {
    try {
      data = JSON.parse(text)
    } catch (e) {
      // not JSON: keep the text, as wx.request does
    }
  }
  const header = {}
  res.headers.forEach((v, k) => { header[k] = v })
  return { statusCode: res.status, data, header }
}

function webStorage(win) {
  let ls = null
  try {
    ls = win.localStorage
    const probe = '__wxauth_probe__'
    ls.setItem(probe, '1')
    ls.removeItem(probe)
  } catch (e) {
    ls = null // private mode, storage disabled, or not a browser
  }
  return ls ? {
    get: (key) => ls.getItem(key),
    set: (key, value) => ls.setItem(key, value),
    remove: (key) => ls.removeItem(key),
  } : memoryStorage()
}

export function memoryStorage() {
  const m = new Map()
  return {
    get: (key) => (m.has(key) ? m.get(key) : null),
    set: (key, value) => { m.set(key, value) },
    remove: (key) => { m.delete(key) },
  }
}
