// Sending through the platform adapter: the caller's request with the
// token set where the server reads it — "Authorization: Bearer <token>", or
// "<tokenHeader>: <token>" when the server is configured with token_header
// (or left as the caller made it, without a token).

import { httpError } from './errors.js'

// HEADER_NAME is an HTTP field name (RFC 9110 tchar).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/

// checkTokenHeader answers the header name to send tokens in, or undefined
// for Authorization: Bearer; a name that cannot be one throws.
export function checkTokenHeader(name) {
  if (name === undefined || name === null || name === '') return undefined
  if (typeof name !== 'string' || !HEADER_NAME.test(name) || name.toLowerCase() === 'authorization') {
    throw new TypeError('wxauth: tokenHeader must be an HTTP header name of your own, such as X-Wx-Ticket (omit it for Authorization: Bearer)')
  }
  return name
}

export function createSender(env, baseURL, tokenHeader) {
  const own = (tokenHeader || 'authorization').toLowerCase()
  function send(req, token) {
    const header = {}
    for (const [k, v] of Object.entries(req.header || {})) {
      if (!(token && k.toLowerCase() === own)) header[k] = v
    }
    if (token && tokenHeader) header[tokenHeader] = token
    else if (token) header.Authorization = `Bearer ${token}`
    return env.request({ url: req.url, method: (req.method || 'GET').toUpperCase(), data: req.data, header, timeout: req.timeout })
  }

  // post sends a JSON body to a path of the wxauth server.
  const post = (path, data, token) => send({ url: baseURL + path, method: 'POST', data }, token)

  return { send, post }
}

// finish answers res if its status is below 400, else rejects with its error.
export function finish(res) {
  if (res.statusCode >= 200 && res.statusCode < 400) return res
  throw httpError(res)
}
