// JWT lifetime (exp − iat), for the proactive refresh margin. The token is
// read, never verified: that is the server's job. atob is not available in
// mini programs: a small base64 decoder.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function base64urlToString(s) {
  let out = ''
  let bits = 0
  let value = 0
  for (const ch of s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')) {
    const i = B64.indexOf(ch)
    if (i < 0) throw new Error('bad base64')
    value = (value << 6) | i
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out += String.fromCharCode((value >> bits) & 0xff)
    }
  }
  return out
}

// tokenLifetimeMs answers exp − iat of a JWT in milliseconds, or 0 when the
// token is not a JWT with both.
export function tokenLifetimeMs(jwt) {
  try {
    const claims = JSON.parse(base64urlToString(String(jwt).split('.')[1]))
    if (typeof claims.exp === 'number' && typeof claims.iat === 'number' && claims.exp > claims.iat) {
      return (claims.exp - claims.iat) * 1000
    }
  } catch (e) {
    // not a JWT we can read: no proactive margin
  }
  return 0
}
