// URLs. The token goes only to the origins of baseURL and apiBaseURL. The
// origin is read with a strict pattern (no URL class in mini programs); any
// URL it cannot read plainly (userinfo, backslash, odd characters) is
// treated as foreign and gets no token.

// originOf answers `scheme://host[:port]` of a plain http(s) URL (the
// scheme's default port dropped), or null.
export function originOf(url) {
  const m = /^(https?):\/\/([^/?#\\]*)([/?#\\]|$)/i.exec(String(url))
  if (!m || m[3] === '\\') return null
  const scheme = m[1].toLowerCase()
  let host = m[2].toLowerCase()
  if (!host || /[^a-z0-9.\-:[\]]/.test(host)) return null
  host = host.replace(scheme === 'https' ? /:443$/ : /:80$/, '')
  return `${scheme}://${host}`
}

export const isAbsolute = (url) => /^[a-z][a-z0-9+.-]*:/i.test(url)
export const trimSlash = (s) => String(s).replace(/\/+$/, '')
export const join = (base, path) => trimSlash(base) + (path.startsWith('/') ? path : `/${path}`)
