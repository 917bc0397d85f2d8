// Sending through the platform adapter: the caller's request with
// "Authorization: Bearer" set (or left as the caller made it, without a
// token).

import { httpError } from './errors.js'

export function createSender(env, baseURL) {
  function send(req, token) {
    const header = {}
    for (const [k, v] of Object.entries(req.header || {})) {
      if (!(token && k.toLowerCase() === 'authorization')) header[k] = v
    }
    if (token) header.Authorization = `Bearer ${token}`
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
