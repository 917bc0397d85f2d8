// PKCE (RFC 7636, method S256) for the H5 login: a random code_verifier, and
// its challenge base64url(SHA-256(verifier)). crypto.subtle exists only in
// secure contexts (https, localhost); a page opened over plain http on a LAN
// address (a phone testing a dev server) falls back to the SHA-256 below.

export function base64url(bytes) {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

// newVerifier answers 32 random bytes as base64url: 43 characters.
export function newVerifier(crypto) {
  if (!crypto || typeof crypto.getRandomValues !== 'function') {
    throw Object.assign(new Error('wxauth: crypto.getRandomValues is not available'), { code: 'not_supported', status: 0 })
  }
  return base64url(crypto.getRandomValues(new Uint8Array(32)))
}

export async function challengeFor(verifier, crypto) {
  const bytes = new TextEncoder().encode(verifier)
  const digest = crypto && crypto.subtle
    ? new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
    : sha256(bytes)
  return base64url(digest)
}

// sha256 is FIPS 180-4 SHA-256 of a Uint8Array.
export function sha256(data) {
  const K = []
  const H = []
  for (let n = 2, found = 0; found < 64; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break }
    if (!prime) continue
    const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0
    if (found < 8) H.push(frac(Math.sqrt(n)))
    K.push(frac(Math.cbrt(n)))
    found++
  }
  const len = data.length
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6)
  padded.set(data)
  padded[len] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(padded.length - 8, Math.floor(len / 2 ** 29))
  view.setUint32(padded.length - 4, (len << 3) >>> 0)
  const w = new Uint32Array(64)
  const rotr = (x, n) => (x >>> n) | (x << (32 - n))
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4)
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3)
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10)
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0
    }
    let [a, b, c, d, e, f, g, h] = H
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0
      h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0
    }
    const v = [a, b, c, d, e, f, g, h]
    for (let i = 0; i < 8; i++) H[i] = (H[i] + v[i]) >>> 0
  }
  const out = new Uint8Array(32)
  const ov = new DataView(out.buffer)
  H.forEach((v, i) => ov.setUint32(i * 4, v))
  return out
}
